#!/usr/bin/env python3
"""A loopback stand-in for Intel PCS that answers late, for
tests/integration/test_verifier.sh: every GET first appends a line to the
file ASKED, then waits (at most 30 s) until the file RELEASE exists, then answers 404
(no collateral). The test checks what the verifier does meanwhile.

Usage: slow_pcs.py --portfile F --asked F --release F
"""
import argparse, http.server, os, time

ap = argparse.ArgumentParser()
for name in ('--portfile', '--asked', '--release'):
    ap.add_argument(name, required=True)
a = ap.parse_args()


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(a.asked, 'a') as f:
            f.write(self.path + '\n')
        deadline = time.time() + 30
        while not os.path.exists(a.release) and time.time() < deadline:
            time.sleep(0.02)
        body = b'{"error": "no such FMSPC"}'
        self.send_response(404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
with open(a.portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(a.portfile + '.tmp', a.portfile)
srv.serve_forever()
