/* The web UI's routes (server.h "api_ui.c"; docs/webui.md).
 *
 *   GET /         index.html
 *   GET /app.js   the bundle (web/src, esbuild)
 *   GET /app.css  the styles
 *
 * The three files are embedded in the binary at build time
 * (cmake/WebUI.cmake, .incbin), so what the browser runs is covered by the
 * binary's measurement (ccai.binary in RTMR3) and nothing can swap it on
 * disk. The page is public (it holds no secret; the API calls it makes need
 * a session); every answer carries a strict Content-Security-Policy: only
 * this origin's script and style, no inline code, no eval, no frames, no
 * plugins, no fonts or images from elsewhere. connect-src also allows
 * https: origins because the verifier is the user's choice (settings) and
 * lives elsewhere; http: only on loopback for a local verifier. */
#include <stddef.h>
#include <string.h>

#include "server/server.h"

/* cmake/WebUI.cmake's generated webui.S. */
extern const char ccai_webui_index_html[], ccai_webui_index_html_end[];
extern const char ccai_webui_app_js[], ccai_webui_app_js_end[];
extern const char ccai_webui_app_css[], ccai_webui_app_css_end[];

#define UI_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "         \
    "connect-src 'self' https: http://127.0.0.1:* http://localhost:* http://[::1]:*; "         \
    "font-src 'none'; object-src 'none'; media-src 'none'; frame-src 'none'; "                \
    "worker-src 'none'; manifest-src 'none'; base-uri 'none'; form-action 'none'; "          \
    "frame-ancestors 'none'"

typedef struct ui_asset {
    const char *path, *ctype;
    const char *start, *end;
} ui_asset;

static const ui_asset ASSETS[] = {
    {"/", "text/html; charset=utf-8", ccai_webui_index_html, ccai_webui_index_html_end},
    {"/app.js", "text/javascript; charset=utf-8", ccai_webui_app_js, ccai_webui_app_js_end},
    {"/app.css", "text/css; charset=utf-8", ccai_webui_app_css, ccai_webui_app_css_end},
};

/* Set on every UI answer, whatever serve.c adds to all answers: the page's
 * safety must not depend on another file's defaults. */
static const char *const UI_HEADERS[] = {
    "Content-Security-Policy", UI_CSP,
    "X-Content-Type-Options", "nosniff",
    "Referrer-Policy", "no-referrer",
    "X-Frame-Options", "DENY",
    "Cache-Control", "no-store",
    "Cross-Origin-Opener-Policy", "same-origin",
    "Cross-Origin-Resource-Policy", "same-origin",
    "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

static void on_asset(ccai_http_req *req, void *arg)
{
    uint64_t t0 = ccai_now_ns();
    const ui_asset *a = NULL;
    for (size_t i = 0; i < sizeof ASSETS / sizeof ASSETS[0]; i++)
        if (!strcmp(ccai_http_path(req), ASSETS[i].path))
            a = &ASSETS[i];
    int status = 404;
    if (!a) {
        ccai_http_reply_error(req, status, "not found"); /* unreachable: exact routes */
    } else {
        for (size_t i = 0; i < sizeof UI_HEADERS / sizeof UI_HEADERS[0]; i += 2)
            ccai_http_set_header(req, UI_HEADERS[i], UI_HEADERS[i + 1]);
        status = 200;
        ccai_http_reply(req, status, a->ctype, a->start, (size_t)(a->end - a->start));
    }
    ccai_access_log(arg, ccai_http_method(req), ccai_http_path(req), status, ccai_now_ns() - t0,
                    -1, -1, -1);
}

ccai_code ccai_api_ui_register(ccai_server *s, ccai_err *err)
{
    for (size_t i = 0; i < sizeof ASSETS / sizeof ASSETS[0]; i++) {
        ccai_code rc = ccai_http_route(s->http, "GET", ASSETS[i].path, on_asset, s, err);
        if (rc)
            return rc;
    }
    return CCAI_OK;
}
