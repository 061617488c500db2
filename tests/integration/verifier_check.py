#!/usr/bin/env python3
"""Relying-party helpers for test_verifier.sh, written independently of ccai's
code: fetch evidence, build the request shapes, tamper with evidence, and check
tokens with python-cryptography's ECDSA against the JWKS the verifier serves.

  evidence PORT OUT                 ccai-attest/1 evidence for a fresh nonce
  split EVIDENCE DIR                quote.bin, ccel.bin, coll.json, rd.hex
                                    (report data recomputed here)
  alibaba EVIDENCE [RAW_B64 [QUOTE]]  the Alibaba/Trustee request body
  tamper EVIDENCE quote|nonce|collateral
                                    a copy with a quote byte, the nonce or the
                                    signed TCB info changed
  token VPORT RESPONSE [JWKS_OUT]   verifies {"token"}; prints the claims
  compare CLAIMS VERIFY_JSON        claims == `ccai verify --json` (+ token extras)
"""
import base64, hashlib, json, os, ssl, sys, time, urllib.request
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.exceptions import InvalidSignature

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def b64u_dec(s):
    if '=' in s:
        raise SystemExit(f"padded base64url in token: {s[:20]}")
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def get(url):
    return urllib.request.urlopen(url, context=CTX, timeout=30).read()


def cmd_evidence(port, out):
    nonce = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode()
    ev = get(f"https://127.0.0.1:{port}/api/attestation?nonce={nonce}")
    open(out, 'wb').write(ev)


def cmd_split(path, d):
    e = json.load(open(path))
    open(f"{d}/quote.bin", 'wb').write(base64.b64decode(e['quote']))
    if e.get('cc_eventlog'):
        open(f"{d}/ccel.bin", 'wb').write(base64.b64decode(e['cc_eventlog']))
    json.dump(e['collateral'], open(f"{d}/coll.json", 'w'))
    nonce = b64u_dec(e['nonce'])
    spki = bytes.fromhex(e['tls_spki_sha256'])
    rd = hashlib.sha512(b"ccai-attest/1\x00" + nonce + spki + bytes(32)).digest()
    open(f"{d}/rd.hex", 'w').write(rd.hex())


def cmd_alibaba(path, raw=None, quote=None):
    e = json.load(open(path))
    q = base64.b64encode(open(quote, 'rb').read()).decode() if quote else e['quote']
    inner = {"quote": q, "cc_eventlog": e.get('cc_eventlog'), "aa_eventlog": None}
    body = {"tee": "tdx", "policy_ids": [],
            "evidence": base64.urlsafe_b64encode(json.dumps(inner).encode()).rstrip(b'=').decode()}
    if raw:
        body["runtime_data"] = {"raw": raw}
    print(json.dumps(body))


def cmd_tamper(path, what):
    e = json.load(open(path))
    if what == 'quote':
        q = bytearray(base64.b64decode(e['quote']))
        q[48 + 136] ^= 0x01          # first byte of MRTD in the TD report body
        e['quote'] = base64.b64encode(bytes(q)).decode()
    elif what == 'collateral':
        # one space more in the signed TCB info text: its signature no longer holds
        e['collateral']['tcb_info'] = e['collateral']['tcb_info'].replace('"version":3', '"version": 3', 1)
    else:
        e['nonce'] = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode()
    print(json.dumps(e))


def cmd_token(vport, resp, jwks_out=None):
    tok = json.load(open(resp))['token']
    jwks = json.loads(get(f"https://127.0.0.1:{vport}/jwks.json"))
    if jwks_out:
        json.dump(jwks, open(jwks_out, 'w'))
    h, p, s = tok.split('.')
    hdr = json.loads(b64u_dec(h))
    assert list(hdr.keys()) == ['alg', 'kid', 'typ'], hdr
    assert hdr['alg'] == 'ES256' and hdr['typ'] == 'JWT', hdr
    keys = [k for k in jwks['keys'] if k['kid'] == hdr['kid']]
    assert len(keys) == 1, f"kid {hdr['kid']} not in JWKS"
    k = keys[0]
    assert (k['kty'], k['crv'], k['alg'], k['use']) == ('EC', 'P-256', 'ES256', 'sig'), k
    # RFC 7638 thumbprint, computed here
    canon = json.dumps({m: k[m] for m in ('crv', 'kty', 'x', 'y')}, separators=(',', ':'),
                       sort_keys=True)
    tp = base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b'=').decode()
    assert tp == k['kid'], f"kid {k['kid']} is not the thumbprint {tp}"
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(k['x']), 'big'),
                                        int.from_bytes(b64u_dec(k['y']), 'big'),
                                        ec.SECP256R1()).public_key()
    sig = b64u_dec(s)
    assert len(sig) == 64, len(sig)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], 'big'), int.from_bytes(sig[32:], 'big'))
    try:
        pub.verify(der, f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SystemExit("token signature does not verify")
    cl = json.loads(b64u_dec(p))
    now = time.time()
    assert cl['nbf'] <= now + 5 and cl['exp'] > now, (cl['nbf'], cl['exp'])
    print(json.dumps({"kid": hdr['kid'], "claims": cl}))


def cmd_compare(claims_path, verify_path):
    cl = json.load(open(claims_path))['claims']
    v = json.load(open(verify_path))
    bad = []
    for key, want in v.items():
        got = cl.get(key)
        if key == 'policy':
            # checks and failures equal; only "actual" of collateral_age moves with time
            for c in got['checks'] + want['checks']:
                if c['name'] == 'collateral_age':
                    c.pop('actual', None)
        if key in ('collateral_issued', 'collateral_expires'):
            continue
        if key == 'steps':
            got = [(s['name'], s['ok']) for s in got]
            want = [(s['name'], s['ok']) for s in want]
        if got != want:
            bad.append(f"{key}: token {json.dumps(got)[:200]} != verify {json.dumps(want)[:200]}")
    extra = set(cl) - set(v)
    if extra != {'iss', 'iat', 'nbf', 'exp', 'jti', 'binding'}:
        bad.append(f"extra claims {sorted(extra)}")
    if bad:
        raise SystemExit("\n".join(bad))
    print("equal")


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'evidence': cmd_evidence, 'split': cmd_split, 'alibaba': cmd_alibaba, 'tamper': cmd_tamper,
     'token': cmd_token, 'compare': cmd_compare}[cmd](*args)
