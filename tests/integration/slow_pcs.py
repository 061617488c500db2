#!/usr/bin/env python3
"""A loopback stand-in for Intel PCS that answers late, for
tests/integration/test_verifier.sh: every GET first appends a line to the
file ASKED, then waits (at most 30 s) until the file RELEASE exists, then answers 404
(no collateral). The test checks what the verifier does meanwhile.

Usage: slow_pcs.py --portfile F --asked F --release F
"""
import argparse, http.server, os, time

from loopback import send_body, serve

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
        send_body(self, 404, b'{"error": "no such FMSPC"}')


serve(H, a.portfile)
