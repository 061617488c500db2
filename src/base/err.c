/* Error values: see err.h. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ccai_code ccai_fail(ccai_err *e, ccai_code code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ccai_err_prefix(ccai_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    char ctx[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put "<ctx>: " in front; truncate the tail. */
    size_t cl = strlen(ctx), cap = sizeof e->msg - 1;
    size_t ol = strnlen(e->msg, cap);
    if (cl + 2 > cap)
        cl = cap - 2;
    size_t keep = ol < cap - cl - 2 ? ol : cap - cl - 2;
    memmove(e->msg + cl + 2, e->msg, keep);
    memcpy(e->msg, ctx, cl);
    e->msg[cl] = ':';
    e->msg[cl + 1] = ' ';
    e->msg[cl + 2 + keep] = '\0';
}

void ccai_err_clear(ccai_err *e)
{
    if (e) {
        e->code = CCAI_OK;
        e->msg[0] = '\0';
    }
}

const char *ccai_code_name(ccai_code code)
{
    switch (code) {
    case CCAI_OK: return "ok";
    case CCAI_ERR_ARG: return "argument";
    case CCAI_ERR_PARSE: return "parse";
    case CCAI_ERR_IO: return "io";
    case CCAI_ERR_CRYPTO: return "crypto";
    case CCAI_ERR_UNSUPPORTED: return "unsupported";
    case CCAI_ERR_NOT_FOUND: return "not-found";
    case CCAI_ERR_STATE: return "state";
    case CCAI_ERR_BUSY: return "busy";
    case CCAI_ERR_VERIFY: return "verify";
    case CCAI_ERR_POLICY: return "policy";
    case CCAI_ERR_NET: return "network";
    }
    return "unknown";
}
