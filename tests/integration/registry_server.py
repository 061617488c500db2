#!/usr/bin/env python3
"""A loopback server for tests/integration/test_store.sh: speaks the Ollama
registry protocol (llm-facts section 4), a Hugging Face file listing and
resolve URLs, and plain file URLs, serving one small GGUF with real
manifests. Hostile variants exercise ccai's checks:

  library/tiny:latest      model + template + params + license + config
  library/slow:latest      the same, see --slow
  library/corrupt:latest   the model blob's bytes do not match its digest
  library/badtype:latest   manifest mediaType is an index, not a manifest
  library/htmltype:latest  the manifest answered as text/html
  library/huge:latest      a manifest over 1 MiB
  library/traversal:latest a layer digest with "../" in it
  library/nomodel:latest   no model layer
  library/norange:latest   the blobs ignore Range (always 200 and the whole blob)
  library/nocr:latest      a Range request gets 206 from byte 0 without Content-Range
  library/short:latest     the manifest says the model is 1000 bytes smaller
  library/long:latest      the manifest says the model is 1000 bytes larger
  library/twosize:latest   one digest listed twice with two sizes
  anything else            404

  /api/models/org/repo     siblings with LFS sha256/size (tiny-Q8_0.gguf,
                           tiny-F32.gguf, README.md); org/nolfs: no LFS data
  /org/<repo>/resolve/main/<file>, /files/tiny.gguf: the GGUF bytes
  /files/empty.gguf        200 and an empty body, whatever the Range

--slow NAME: library/NAME's model blob trickles (64 KiB every 0.2 s), so a
test can cancel a pull or stop the server in the middle of one.
--drop-after N: the first GET of the model blob sends N bytes and then
cuts the connection (once). Every request is logged to --log as
"METHOD PATH range=<Range header or ->".
Usage: registry_server.py --gguf FILE --portfile F --log F [--drop-after N] [--slow NAME]
"""
import argparse, hashlib, http.server, json, socket, threading

from loopback import send_body, serve

ap = argparse.ArgumentParser()
ap.add_argument('--gguf', required=True)
ap.add_argument('--portfile', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--drop-after', type=int, default=-1)
ap.add_argument('--slow', default='', help='a model name whose GGUF blob trickles (64 KiB every 0.2 s)')
a = ap.parse_args()

gguf = open(a.gguf, 'rb').read()
bad = gguf[:-1] + bytes([gguf[-1] ^ 1])
def dig(b): return 'sha256:' + hashlib.sha256(b).hexdigest()
tmpl = b'{{ .Prompt }}'
params = json.dumps({"stop": ["<|end|>"], "temperature": 0.6}).encode()
lic = b'MIT License\nfor testing'
cfg = json.dumps({"model_format": "gguf", "model_family": "llama"}).encode()
blobs = {dig(x): x for x in (gguf, tmpl, params, lic, cfg)}
MT = 'application/vnd.docker.distribution.manifest.v2+json'

def layer(mt, b, d=None):
    return {"mediaType": mt, "digest": d or dig(b), "size": len(b)}

def manifest(layers, mt=MT):
    return json.dumps({"schemaVersion": 2, "mediaType": mt,
                       "config": layer("application/vnd.docker.container.image.v1+json", cfg),
                       "layers": layers}).encode()

M = 'application/vnd.ollama.image.'
full = [layer(M + 'model', gguf), layer(M + 'template', tmpl), layer(M + 'params', params),
        layer(M + 'license', lic)]
manifests = {
    'tiny': manifest(full),
    'slow': manifest(full),
    'corrupt': manifest([layer(M + 'model', gguf)]),
    'badtype': manifest(full, 'application/vnd.oci.image.index.v1+json'),
    'htmltype': manifest(full),
    'huge': manifest(full)[:-1] + b',"pad":"' + b'x' * (1 << 20) + b'"}',
    'traversal': manifest([layer(M + 'model', gguf, 'sha256:../../../../etc/passwd')]),
    'nomodel': manifest([layer(M + 'template', tmpl)]),
    'norange': manifest(full),
    'nocr': manifest(full),
    'short': manifest([dict(layer(M + 'model', gguf), size=len(gguf) - 1000)]),
    'long': manifest([dict(layer(M + 'model', gguf), size=len(gguf) + 1000)]),
    'twosize': manifest(full + [dict(layer(M + 'template', tmpl), size=999999)]),
}
siblings = [{"rfilename": "README.md"},
            {"rfilename": "tiny-Q8_0.gguf", "lfs": {"sha256": hashlib.sha256(gguf).hexdigest(), "size": len(gguf)}},
            {"rfilename": "tiny-F32.gguf", "lfs": {"sha256": hashlib.sha256(gguf).hexdigest(), "size": len(gguf)}}]
listings = {'org/repo': {"id": "org/repo", "siblings": siblings},
            'org/nolfs': {"id": "org/nolfs", "siblings": [{"rfilename": "tiny-Q8_0.gguf"}]}}
state = {'dropped': False}
lock = threading.Lock()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args): pass

    def reply(self, status, body, ct='application/octet-stream', ranges=True):
        rng = self.headers.get('Range'); start = 0
        if ranges and status == 200 and rng and rng.startswith('bytes='):
            start = int(rng[6:].split('-')[0] or 0)
            if start >= len(body) and body:
                self.send_response(416); self.send_header('Content-Length', '0'); self.end_headers(); return
            if start:
                status = 206
        self.send_response(status)
        self.send_header('Content-Type', ct)
        self.send_header('Content-Length', str(len(body) - start))
        if status == 206:
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, len(body) - 1, len(body)))
        self.end_headers()
        return body[start:]

    def do_GET(self):
        p = self.path.split('?')[0]
        with lock:
            with open(a.log, 'a') as f:
                f.write('GET %s range=%s\n' % (p, self.headers.get('Range') or '-'))
        parts = p.strip('/').split('/')
        out = None
        if len(parts) == 5 and parts[0] == 'v2' and parts[3] == 'manifests' and parts[1] == 'library':
            m = manifests.get(parts[2])
            if m is None or parts[4] not in ('latest', 'v1'):
                return self.not_found()
            ct = 'text/html' if parts[2] == 'htmltype' else MT
            out = self.reply(200, m, ct)
        elif len(parts) == 5 and parts[0] == 'v2' and parts[3] == 'blobs':
            b = blobs.get(parts[4])
            if b is None:
                return self.not_found()
            if parts[2] == 'corrupt' and b is gguf:
                b = bad
            if b is gguf and a.drop_after >= 0 and not state['dropped']:
                state['dropped'] = True
                self.send_response(200)
                self.send_header('Content-Length', str(len(b)))
                self.end_headers()
                self.wfile.write(b[:a.drop_after]); self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if parts[2] == 'nocr' and self.headers.get('Range'):
                self.send_response(206)
                self.send_header('Content-Length', str(len(b)))
                self.end_headers()
                self.wfile.write(b)
                return
            out = self.reply(200, b, ranges=parts[2] != 'norange')
            if a.slow and parts[2] == a.slow and b is gguf and out:
                import time
                for i in range(0, len(out), 65536):
                    try:
                        self.wfile.write(out[i:i + 65536]); self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.2)
                return
        elif len(parts) == 4 and parts[:2] == ['api', 'models']:
            l = listings.get(parts[2] + '/' + parts[3])
            if l is None:
                return self.not_found()
            out = self.reply(200, json.dumps(l).encode(), 'application/json')
        elif len(parts) == 5 and parts[2:4] == ['resolve', 'main'] and parts[4].endswith('.gguf'):
            out = self.reply(200, gguf)
        elif p == '/files/tiny.gguf':
            out = self.reply(200, gguf)
        elif p == '/files/empty.gguf':
            self.send_response(200)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        else:
            return self.not_found()
        if out:
            self.wfile.write(out)

    def not_found(self):
        send_body(self, 404, b'{"errors":[{"code":"NOT_FOUND"}]}')

serve(H, a.portfile)
