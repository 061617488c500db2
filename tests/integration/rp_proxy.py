#!/usr/bin/env python3
"""The relying-party tests' adversary on loopback, in front of a ccai server.

usage: rp_proxy.py MODE LISTEN_PORT UPSTREAM_PORT CERT KEY LOG [ARG]

  relay       raw TCP relay: the client talks TLS to the real server (same key)
  mitm        terminates TLS with its own key, forwards each request to the
              real server over TLS (the evidence it relays names the real key)
  replay      terminates TLS with its own key and answers every request with
              the HTTP response recorded in the file ARG (an old nonce)
  switch      the first ARG connections are relayed raw, later ones are mitm
              (a key change after a successful attestation)
  inject      mitm in front of a server that uses the proxy's own key (so the
              binding holds: this is the server lying), adding the members of
              the JSON object ARG to its evidence (e.g. {"policy_ids":["dev"]})
  service     a lying attestation service (UPSTREAM_PORT unused): OIDC
              discovery, a JWKS and ES256 tokens of its own key saying "pass"
              for any ccai-attest/1 evidence, bound to its nonce and SPKI,
              with one lie named by ARG: ok (none), policy (policy_id
              "default" whatever was asked), report_data (the quote's report
              data is not the binding, report_data_ok still true), iss
              (another issuer), expired (exp in the past), tee (tee "sgx"),
              unverified (verified false, pass still true); and pinned, no
              lie: the policy's checks include a passing binary_sha256

Every request line the proxy sees in clear (mitm, replay) is appended to LOG,
so a test can show that nothing was sent; raw relays log "relay". Stops on
SIGTERM."""
import base64, hashlib, json, socket, ssl, sys, threading, time

mode, port, up, cert, key, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
arg = sys.argv[7] if len(sys.argv) > 7 else None
lock = threading.Lock()
count = 0

def note(line):
    with lock, open(log, 'a') as f:
        f.write(line + '\n')

def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass

def relay(c):
    note("relay")
    u = socket.create_connection(('127.0.0.1', up))
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
    pump(c, u)

def read_request(s):
    data = b''
    while b'\r\n\r\n' not in data:
        d = s.recv(65536)
        if not d:
            return None
        data += d
    head, _, body = data.partition(b'\r\n\r\n')
    n = 0
    for h in head.split(b'\r\n')[1:]:
        k, _, v = h.partition(b':')
        if k.strip().lower() == b'content-length':
            n = int(v.strip())
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return head + b'\r\n\r\n' + body

def serve_tls(c, answer):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        note("handshake refused by the client")
        return
    try:
        req = read_request(t)
        if req is None:
            return
        note(req.split(b'\r\n', 1)[0].decode(errors='replace'))
        t.sendall(answer(req))
    except (ssl.SSLError, OSError):
        pass
    finally:
        t.close()

def forward(req):
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    req = req.replace(b'Connection: keep-alive', b'Connection: close')
    head, sep, body = req.partition(b'\r\n\r\n')
    if b'connection:' not in head.lower():
        head += b'\r\nConnection: close'
    with socket.create_connection(('127.0.0.1', up)) as s, ctx.wrap_socket(s) as u:
        u.sendall(head + sep + body)
        out = b''
        while True:
            d = u.recv(65536)
            if not d:
                break
            out += d
    return out

def inject(req):
    """forward, with ARG's members added to an evidence answer."""
    out = forward(req)
    if b'/api/attestation?' not in req.split(b'\r\n', 1)[0]:
        return out
    head, _, body = out.partition(b'\r\n\r\n')
    ev = json.loads(body)
    ev.update(json.loads(arg))
    body = json.dumps(ev).encode()
    lines = [h for h in head.split(b'\r\n') if not h.lower().startswith(b'content-length:')]
    return b'\r\n'.join(lines) + b'\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n\r\n' + body

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()

SVC_KEY = None

def service_answer(req):
    """The fake service's answer to one request (see the module doc)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    global SVC_KEY
    if SVC_KEY is None:
        SVC_KEY = ec.generate_private_key(ec.SECP256R1())
    head, _, body = req.partition(b'\r\n\r\n')
    path = head.split(b' ')[1].decode()
    me = f"https://127.0.0.1:{port}"
    pub = SVC_KEY.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "kid": "liar", "use": "sig", "alg": "ES256",
           "x": b64u(pub.x.to_bytes(32, 'big')), "y": b64u(pub.y.to_bytes(32, 'big'))}
    if path == '/.well-known/openid-configuration':
        out = {"issuer": me, "jwks_uri": me + "/jwks.json"}
    elif path == '/jwks.json':
        out = {"keys": [jwk]}
    else:
        j = json.loads(body)
        asked = (j.get("policy_ids") or ["default"])[0]
        ev = j["evidence"] if isinstance(j.get("evidence"), dict) else j
        nonce = base64.urlsafe_b64decode(ev["nonce"] + '=' * (-len(ev["nonce"]) % 4))
        spki = bytes.fromhex(ev["tls_spki_sha256"])
        rd = hashlib.sha512(b"ccai-attest/1\0" + nonce + spki + bytes(32)).hexdigest()
        now = int(time.time())
        c = {"iss": me, "iat": now, "nbf": now, "exp": now + 300, "jti": "1", "tee": "tdx",
             "verified": True, "report_data": rd, "pass": True,
             "policy": {"policy_id": asked, "pass": True, "checks": [], "failed": []},
             "binding": {"nonce": ev["nonce"], "tls_spki_sha256": ev["tls_spki_sha256"],
                         "e2e_key_sha256": None, "report_data_ok": True}}
        if arg == 'policy':
            c["policy"]["policy_id"] = "default"
        elif arg == 'report_data':
            c["report_data"] = "00" * 64
        elif arg == 'iss':
            c["iss"] = "https://elsewhere.invalid"
        elif arg == 'expired':
            c["exp"] = now - 10
        elif arg == 'pinned':
            c["policy"]["checks"] = [{"name": "binary_sha256", "ok": True, "expected": "x",
                                      "actual": "x", "reason": None}]
        elif arg == 'tee':
            c["tee"] = "sgx"
        elif arg == 'unverified':
            c["verified"] = False
        hdr = b64u(json.dumps({"alg": "ES256", "kid": "liar", "typ": "JWT"}).encode())
        inp = hdr + "." + b64u(json.dumps(c).encode())
        r, s_ = utils.decode_dss_signature(SVC_KEY.sign(inp.encode(), ec.ECDSA(hashes.SHA256())))
        out = {"token": inp + "." + b64u(r.to_bytes(32, 'big') + s_.to_bytes(32, 'big'))}
    data = json.dumps(out).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)

def handle(c):
    global count
    with lock:
        count += 1
        n = count
    if mode == 'relay' or (mode == 'switch' and n <= int(arg)):
        relay(c)
    elif mode in ('mitm', 'switch'):
        serve_tls(c, forward)
    elif mode == 'inject':
        serve_tls(c, inject)
    elif mode == 'service':
        serve_tls(c, service_answer)
    elif mode == 'replay':
        recorded = open(arg, 'rb').read()
        serve_tls(c, lambda req: recorded)

srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
