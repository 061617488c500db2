"""Shared pieces of the loopback servers the integration tests start
(registry_server.py, https_redirect.py, slow_pcs.py)."""
import http.server, os


def send_body(handler, status, body, ctype='application/json'):
    """A whole reply with its Content-Type and Content-Length."""
    handler.send_response(status)
    handler.send_header('Content-Type', ctype)
    handler.send_header('Content-Length', str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve(handler_cls, portfile, ssl_ctx=None):
    """Serves handler_cls on 127.0.0.1, a free port (TLS when ssl_ctx is
    given), forever; the port is written to portfile once it listens
    (through a rename, so a reader never sees it half written)."""
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler_cls)
    if ssl_ctx:
        srv.socket = ssl_ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    srv.serve_forever()
