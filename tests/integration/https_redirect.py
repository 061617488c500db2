#!/usr/bin/env python3
"""A loopback HTTPS server for tests/integration/test_store.sh's TLS checks:

  /files/tiny.gguf   the GGUF bytes
  /to-https          302 to /files/tiny.gguf on this server (https)
  /to-http           302 to HTTP_BASE/files/tiny.gguf (plain http)
  anything else      404

Usage: https_redirect.py --cert F --key F --gguf F --http HTTP_BASE --portfile F
"""
import argparse, http.server, ssl

from loopback import serve

ap = argparse.ArgumentParser()
for name in ('--cert', '--key', '--gguf', '--http', '--portfile'):
    ap.add_argument(name, required=True)
a = ap.parse_args()
gguf = open(a.gguf, 'rb').read()


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == '/files/tiny.gguf':
            self.send_response(200)
            self.send_header('Content-Length', str(len(gguf)))
            self.end_headers()
            self.wfile.write(gguf)
            return
        where = {'/to-https': 'https://127.0.0.1:%d/files/tiny.gguf' % port,
                 '/to-http': a.http + '/files/tiny.gguf'}.get(self.path)
        self.send_response(302 if where else 404)
        if where:
            self.send_header('Location', where)
        self.send_header('Content-Length', '0')
        self.end_headers()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
serve(H, a.portfile, ctx)
