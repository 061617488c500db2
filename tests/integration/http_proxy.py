#!/usr/bin/env python3
"""A minimal HTTP forward proxy on loopback for the store tests: it answers
absolute-URI requests (GET http://127.0.0.1:PORT/path) by fetching them from
the origin, which must be on 127.0.0.1, and logs each request line to LOG.
usage: http_proxy.py PORTFILE LOG"""
import http.client, http.server, sys, urllib.parse

portfile, log = sys.argv[1], sys.argv[2]

class H(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self): self.relay(head=True)
    def do_GET(self): self.relay()
    def relay(self, head=False):
        with open(log, 'a') as f:
            f.write(f"{self.command} {self.path}\n")
        u = urllib.parse.urlsplit(self.path)
        if u.scheme != 'http' or u.hostname != '127.0.0.1':
            self.send_error(403, 'loopback origins only')
            return
        c = http.client.HTTPConnection('127.0.0.1', u.port, timeout=30)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ('proxy-connection', 'connection', 'host')}
        c.request(self.command, (u.path or '/') + ('?' + u.query if u.query else ''), headers=hdrs)
        r = c.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
    def log_message(self, *a): pass

srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
open(portfile, 'w').write(str(srv.server_address[1]))
srv.serve_forever()
