/* One way to fail: a code plus a human message with context.
 *
 * Every function that can fail returns a ccai_code and, when given a non-NULL
 * ccai_err, fills it with a message that says what was expected and what was
 * found ("quote: signature data length 4300 at offset 632 exceeds the 200
 * bytes left"). Errors travel up as values; only main() decides to exit.
 * Callers add context on the way up with ccai_err_prefix(). */
#ifndef CCAI_BASE_ERR_H
#define CCAI_BASE_ERR_H

#include <stddef.h>

typedef enum ccai_code {
    CCAI_OK = 0,
    CCAI_ERR_ARG,         /* a caller passed something invalid (usage) */
    CCAI_ERR_PARSE,       /* malformed input: bytes, JSON, PEM, DER */
    CCAI_ERR_IO,          /* file system or device I/O */
    CCAI_ERR_CRYPTO,      /* a cryptographic operation failed to run */
    CCAI_ERR_UNSUPPORTED, /* a version, type or interface we do not handle */
    CCAI_ERR_NOT_FOUND,   /* an expected file, entry or interface is absent */
    CCAI_ERR_STATE,       /* persisted state is inconsistent */
    CCAI_ERR_BUSY,        /* a concurrent writer won a race; retry failed */
    CCAI_ERR_VERIFY,      /* evidence failed a cryptographic check */
    CCAI_ERR_POLICY,      /* evidence verified but a policy rejected it */
    CCAI_ERR_NET,         /* a remote service was unreachable or answered an error */
} ccai_code;

typedef struct ccai_err {
    ccai_code code;
    char msg[1024];
} ccai_err;

/* Sets *e (when e is non-NULL) and returns code, so callers can write
 * `return ccai_fail(err, CCAI_ERR_PARSE, "...", ...);`. */
ccai_code ccai_fail(ccai_err *e, ccai_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already in *e. */
void ccai_err_prefix(ccai_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ccai_err_clear(ccai_err *e);

/* A short stable name for a code ("parse", "io", ...), for logs and JSON. */
const char *ccai_code_name(ccai_code code);

#endif
