#!/usr/bin/env python3
"""Hostile requests against a running `ccai serve` (docs/serve.md
"Hostile-request test"; test_api_hostile.sh starts the server and runs this).

Every route registered in src/server/*.c gets a deterministic set (fixed
seed) of hostile requests: mutations of valid bodies (values of every JSON
type, deletions, byte flips, truncations), structural abuse (deep nesting,
huge strings, NUL and invalid UTF-8, duplicate keys, over the size limit),
wrong methods, odd paths and queries, bad keys and cookies, raw protocol
abuse. Requests go over TLS (certificate not verified: it is born in
memory) on kept-alive raw sockets, only to 127.0.0.1, so that nothing is
normalised on the way.

Each reply must come (no drop, no timeout), have a 2xx/4xx status (429 and
503 only where the code documents them), and an error body that is JSON
with an "error" member in the shape the route uses. libevent's own HTML
answers to requests no ccai code sees (a malformed request line or header
block: 400; a body over the limit: 413), documented in src/net/http.h, are
counted apart and fail only with HOSTILE_STRICT=1. Every violation is
written with a command that reproduces it. Standard library only.

Environment: HOSTILE_PORT, HOSTILE_SRC (source tree), HOSTILE_ADMIN_KEY,
HOSTILE_USER_KEY, HOSTILE_COOKIE (an admin session token), HOSTILE_KEEP
(names and key ids never to delete), HOSTILE_MAX_BODY, HOSTILE_MARK,
HOSTILE_FINDINGS (a directory for reproducers), HOSTILE_SEED."""
import glob
import json
import os
import random
import re
import socket
import ssl
import sys
import time

E = os.environ
PORT = int(E["HOSTILE_PORT"])
MARK = E["HOSTILE_MARK"]
MAX_BODY = int(E.get("HOSTILE_MAX_BODY", "262144"))
TIMEOUT = float(E.get("HOSTILE_TIMEOUT", "30"))
STRICT = E.get("HOSTILE_STRICT") == "1"
KEEP = set(E.get("HOSTILE_KEEP", "").split())
CRED = {"none": [], "user": [("Authorization", "Bearer " + E["HOSTILE_USER_KEY"])],
        "admin": [("Authorization", "Bearer " + E["HOSTILE_ADMIN_KEY"])],
        "cookie": [("Cookie", "ccai_session=" + E["HOSTILE_COOKIE"])]}
CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
# Documented 429s and 503s (docs/serve.md, docs/api.md, docs/store.md).
LIMITED = {"POST /api/login", "POST /api/me/password", "GET /api/attestation",
           "POST /api/attestation"}
BUSY = {"POST /api/generate", "POST /api/chat", "POST /v1/chat/completions", "POST /api/login",
        "POST /api/admin/users", "POST /api/admin/users/*", "POST /api/me/password",
        "POST /api/pull"}
# A pull whose registry fails is the registry's failure (docs/store.md).
UPSTREAM = {"POST /api/pull"}
OPENAI = {"POST /v1/chat/completions", "GET /v1/models", "GET /v1/models/*"}
# The methods that reach ccai's router (405 in JSON where a route does not
# take them). TRACE, CONNECT and any other method (FOO, "get": methods are
# case-sensitive) are answered 501 by libevent itself, which then closes the
# connection (src/net/http.h: it does not read a TRACE's body, so passing
# TRACE on would let its body be parsed as another request).
KNOWN_METHODS = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"}


# ---- the wire -------------------------------------------------------------------------------

class Dropped(Exception):
    pass


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def h(self, name):
        return next((v for k, v in self.headers if k == name), None)


class Conn:
    """One TLS connection; replies are parsed by hand (chunked, length, close)."""

    def __init__(self, src=None):
        raw = socket.create_connection(("127.0.0.1", PORT), timeout=TIMEOUT,
                                       source_address=(src, 0) if src else None)
        self.s = CTX.wrap_socket(raw)
        self.buf = bytearray()
        self.open = True

    def close(self):
        self.open = False
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self):
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            raise Dropped("no reply within %g s" % TIMEOUT)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("connection error: %s" % e)
        if not d:
            raise Dropped("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise Dropped("a reply line longer than 1 MiB")
            self._fill()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        d = bytes(self.buf[:n])
        del self.buf[:n]
        return d

    def reply(self, head):
        while True:
            line = self._line()
            m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
            if not m:
                raise Dropped("not an HTTP status line: %r" % line[:80])
            status, hdrs = int(m.group(1)), []
            while (h := self._line()):
                k, _, v = h.partition(b":")
                hdrs.append((k.strip().lower().decode("latin-1"), v.strip().decode("latin-1")))
            if status != 100:
                break
        r = Reply(status, hdrs, b"")
        if head or status in (204, 304):
            pass
        elif "chunked" in (r.h("transfer-encoding") or "").lower():
            body = bytearray()
            while (n := int(self._line().split(b";")[0], 16)):
                body += self._exact(n)
                self._exact(2)
            while self._line():
                pass
            r.body = bytes(body)
        elif r.h("content-length") is not None:
            r.body = self._exact(int(r.h("content-length")))
        else:
            try:
                while True:
                    self._fill()
            except Dropped as e:
                if "closed" not in str(e):
                    raise
            r.body, self.buf = bytes(self.buf), bytearray()
            self.open = False
        if (r.h("connection") or "").lower() == "close":
            self.close()
        return r


# ---- requests -------------------------------------------------------------------------------

class Req:
    """route: "METHOD /pattern" it aims at; raw: whole bytes sent on a fresh
    connection (every reply until close is judged); abandon: sent, then the
    connection is dropped without waiting (only the server's survival counts)."""

    def __init__(self, route, method, path, headers=(), body=None, raw=None, abandon=False,
                 src=None, plain=False):
        self.route, self.method, self.path = route, method, path
        self.headers, self.body, self.raw = list(headers), body, raw
        self.abandon, self.src, self.plain = abandon, src, plain

    def wire(self):
        if self.raw is not None:
            return self.raw
        path = self.path if isinstance(self.path, bytes) else self.path.encode()
        out = [self.method.encode() + b" " + path + b" HTTP/1.1"]
        if not any(k.lower() == "host" for k, _ in self.headers):
            out.append(b"Host: 127.0.0.1:%d" % PORT)
        for k, v in self.headers:
            out.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode("latin-1")))
        if self.body is not None:
            out.append(b"Content-Length: %d" % len(self.body))
        return b"\r\n".join(out) + b"\r\n\r\n" + (self.body or b"")


def esc(b):
    return "".join(chr(c) if c < 128 and chr(c).isalnum() or chr(c) in " -_.,:;{}[]=/+*()!?@#^&|~<>\""
                   else "\\x%02x" % c for c in b)


def repro(r, n, findings):
    """One shell command that sends r again."""
    data = r.wire()
    if len(data) > 4000 and findings:
        p = os.path.join(findings, "request-%d.bin" % n)
        with open(p, "wb") as f:
            f.write(data)
        src = "cat %s" % p
    else:
        src = "printf '%s'" % esc(data)
    return "%s | openssl s_client -quiet -connect 127.0.0.1:%d 2>/dev/null" % (src, PORT)


def curl(r):
    """A curl spelling, when curl can say it (printable path and headers)."""
    if r.raw is not None or not isinstance(r.path, str) or not r.method.isupper() or \
            any(isinstance(v, bytes) or re.search(r"[^\x20-\x7e]", v) for _, v in r.headers):
        return None
    cmd = "curl -sk --path-as-is -X %s 'https://127.0.0.1:%d%s'" % (r.method, PORT, r.path)
    cmd += "".join(" -H '%s: %s'" % (k, v.replace("'", "'\\''")) for k, v in r.headers)
    if r.body is not None and len(r.body) <= 4000:
        cmd = "printf '%s' | %s --data-binary @-" % (esc(r.body), cmd)
    return cmd if r.body is None or len(r.body) <= 4000 else None


# ---- judging --------------------------------------------------------------------------------

def text(path):
    return path.decode("latin-1") if isinstance(path, bytes) else path


def exact_route(r):
    pat = r.route.split(" ", 1)[1]
    p = r.path if isinstance(r.path, str) else ""
    if r.method != r.route.split(" ")[0] or "?" in p:
        return False
    return p == pat or (pat.endswith("*") and p.startswith(pat[:-1]) and "%" not in p)


def judge(r, rep):
    """(violations, documented) for one reply."""
    bad, doc = [], []
    st, head = rep.status, r.method == "HEAD"
    ccai = rep.h("x-content-type-options") == "nosniff"  # on every answer ccai writes
    if st == 501 and r.method not in KNOWN_METHODS and not ccai:
        doc.append("libevent's own 501 for TRACE or an unknown method")
        return bad, doc
    if not (200 <= st < 300 or 400 <= st < 500 or (st == 503 and r.route in BUSY) or
            (st in (502, 504) and r.route in UPSTREAM)):
        bad.append("status %d" % st)
    if st == 429 and r.route not in LIMITED:
        bad.append("429 on a route without a rate limit")
    if st >= 400 and not head:
        if not ccai and st in (400, 413) and rep.body.lstrip().startswith(b"<HTML>"):
            doc.append("libevent's own %d with an HTML body" % st)
        else:
            try:
                j = json.loads(rep.body)
            except ValueError:
                j = None
            err = j.get("error") if isinstance(j, dict) else None
            oai = isinstance(err, dict) and isinstance(err.get("message"), str) and \
                isinstance(err.get("type"), str) and all(
                    err.get(k) is None or isinstance(err.get(k), str) for k in ("param", "code"))
            if not (isinstance(err, str) and err) and not oai:
                bad.append("error body is not JSON with an \"error\" member")
            elif r.route in OPENAI and exact_route(r) and st in (400, 404, 503) and not oai:
                bad.append("OpenAI route without OpenAI's error shape")
            elif not text(r.path).startswith("/v1/") and not isinstance(err, str):
                bad.append("Ollama-style route with a non-string error")
    if 200 <= st < 300 and not head:
        ct = (rep.h("content-type") or "").split(";")[0]
        try:
            if ct == "application/json":
                json.loads(rep.body)
            elif ct == "application/x-ndjson":
                [json.loads(x) for x in rep.body.split(b"\n") if x.strip()]
            elif ct == "text/event-stream":
                [json.loads(x[6:]) for x in rep.body.split(b"\n\n")
                 if x.startswith(b"data: ") and x != b"data: [DONE]"]
        except ValueError:
            bad.append("a %s reply that does not parse" % ct)
    return bad, doc


# ---- routes ---------------------------------------------------------------------------------

def registered_routes(src):
    """METHOD PATH of every route the registration tables in src/server/*.c add."""
    out = set()
    for fn in glob.glob(os.path.join(src, "src/server/*.c")):
        t = open(fn).read()
        out |= {"%s %s" % m for m in re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)",\s*on_\w+\s*\}', t)}
        out |= {"%s %s" % m for m in re.findall(r'ccai_http_route\([^,]+,\s*"([A-Z]+)",\s*"(/[^"]*)"', t)}
        if re.search(r'ccai_http_route\([^,]+,\s*"GET",\s*ASSETS\[i\]\.path', t):
            out |= {"GET " + p for p in re.findall(r'\{"(/[^"]*)",\s*"text/', t)}
    return out


NONCE = "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # 32 bytes, base64url
SEEDS = {
    "POST /api/generate": [
        {"model": "tiny", "prompt": MARK + " once upon a time", "stream": False, "raw": False,
         "system": MARK + " be brief", "format": "json", "think": False, "keep_alive": "5m",
         "images": [], "context": [], "template": "", "suffix": "",
         "options": {"temperature": 0.5, "top_k": 40, "top_p": 0.9, "min_p": 0.05,
                     "repeat_penalty": 1.1, "repeat_last_n": 64, "seed": 7, "num_predict": 4,
                     "num_ctx": 128, "num_thread": 1, "stop": ["\n\n", "###"]}},
        {"model": "tiny:latest", "prompt": MARK + " hello", "raw": True,
         "options": {"num_predict": 3, "temperature": 0}}],
    "POST /api/chat": [
        {"model": "tiny", "stream": False, "think": "low", "tools": [], "format": "",
         "messages": [{"role": "system", "content": MARK + " sys"},
                      {"role": "user", "content": MARK + " hi", "images": []},
                      {"role": "assistant", "content": MARK + " ok"},
                      {"role": "user", "content": MARK + " more"}],
         "options": {"num_predict": 4, "seed": 3}},
        {"name": "tiny", "messages": [{"role": "user", "content": MARK + " hey"}],
         "options": {"num_predict": 3}}],
    "POST /v1/chat/completions": [
        {"model": "tiny", "messages": [
            {"role": "developer", "content": MARK + " sys"},
            {"role": "user", "content": [{"type": "text", "text": MARK + " part one"},
                                         {"type": "text", "text": MARK + " two"}]}],
         "max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "min_p": 0.1, "repeat_penalty": 1.1,
         "presence_penalty": 0.5, "frequency_penalty": -0.5, "top_k": 20, "seed": 5,
         "stop": ["x", "y"], "n": 1, "logprobs": False, "response_format": {"type": "text"},
         "stream": False, "tools": [], "functions": []},
        {"model": "tiny", "messages": [{"role": "user", "content": MARK + " go"}],
         "max_completion_tokens": 3, "stream": True, "stream_options": {"include_usage": True}}],
    "POST /api/show": [{"model": "tiny"}, {"name": "tiny:latest", "verbose": True}],
    "POST /api/attestation": [{"nonce": NONCE}],
    "POST /api/login": [{"username": "admin", "password": "not the password"}],
    "POST /api/admin/users": [{"name": "fuzzuser", "password": "a fuzz password", "role": "user"}],
    "POST /api/admin/keys": [{"user": "alice", "label": "fuzz"}],
    "POST /api/admin/users/*": [{"password": "a reset password"}],
    "POST /api/me/password": [{"password": "not the password", "new_password": "a new password"}],
    "POST /api/keys": [{"label": "fuzz"}],
    "POST /api/pull": [{"model": "absent/model:tag", "stream": False}, {"name": "absent"}],
    "DELETE /api/delete": [{"model": "absent:latest"}],
}
SEGMENTS = {"DELETE /api/admin/users/*": "victim", "POST /api/admin/users/*": "nobody/password",
            "DELETE /api/admin/keys/*": "ccai_AAAAAAAA",
            "DELETE /api/keys/*": "ccai_BBBBBBBB", "GET /v1/models/*": "tiny:latest"}
DEFAULT_CRED = {"admin": ["/api/admin/", "/api/pull", "/api/delete"],
                "none": ["/api/attestation", "/api/login", "/api/logout", "/api/version", "/app."]}
HOSTILE_VALUES = [
    None, True, False, 0, -1, 1, 2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, -2 ** 63, 2 ** 64, 10 ** 30,
    1e308, -1e308, 5e-324, 0.5, -0.0, 3.0, "", " ", "x" * 10000, "a\u0000b", "\ud800", "\udc00z",
    "\U0001F600", "\u202e", "../../etc/passwd", "tiny", "tiny:latest", "%s%n%x", "<script>", [],
    {}, [1, "a", None], {"a": {"b": [{}]}}, [[[[[]]]]], ["x"] * 1000, {"type": "text"}]
RAW_VALUES = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"0x10", b"01", b".5",
              b"+1", b"undefined", b"tru", b"nul", b"\"\xff\xfe\"", b"\"\xc0\x80\"",
              b"\"\xed\xa0\x80\"", b"\"\\u0000\"", b"\"\\uZZZZ\"", b"\"\\", b"'single'",
              b"[1,]", b"{,}", b"\"a\"\"b\""]
INSERTS = [b"\x00", b"\xff", b"\xc0", b"\"", b"\\", b"{", b"[", b"}", b"]", b",", b":",
           b"\\u0000", b"\xed\xa0\x80", b"\r\n", b"9" * 30, b"-", b"e", b" "]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "get"]


def default_cred(route):
    for k, prefixes in DEFAULT_CRED.items():
        if any(p in route for p in prefixes):
            return k
    return "user"


class Plan:
    def __init__(self, rng):
        self.rng, self.reqs = rng, []

    def add(self, route, method, path, cred=None, headers=(), body=None, **kw):
        c = CRED[cred or default_cred(route)]
        if route == "POST /api/logout" and (c is CRED["cookie"] or any(
                v == CRED["cookie"][0][1] for _, v in headers)):
            return  # a real logout would end the session the other requests use
        if route == "POST /api/pull" and body is not None and re.search(
                rb"(?i)http|\\u|hf\.co|huggingface", body):
            return  # never a URL or an escape that could spell one (no outbound traffic)
        if route.startswith("DELETE") and "/*" in route and isinstance(path, str) and \
                path.rsplit("/", 1)[-1] in KEEP:
            return
        self.reqs.append(Req(route, method, path, list(c) + list(headers), body, **kw))

    def cred(self, route):
        return self.rng.choice([None] * 6 + ["none", "user", "admin", "cookie"])


def slots(v, path=()):
    """Every position in a JSON value, as key/index paths."""
    yield path
    if isinstance(v, dict):
        for k in v:
            yield from slots(v[k], path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from slots(x, path + (i,))


def with_slot(v, path, new):
    if not path:
        return new
    c = dict(v) if isinstance(v, dict) else list(v)
    c[path[0]] = with_slot(v[path[0]], path[1:], new)
    return c


def dumps(v):
    return json.dumps(v, separators=(",", ":")).encode()


def json_mutation(rng, seed):
    paths = [p for p in slots(seed) if p]
    p = rng.choice(paths)
    prose = isinstance(p[-1], str) and p[-1] in ("prompt", "content", "system", "text")
    act = rng.random()
    if act < 0.55:
        v = rng.choice(HOSTILE_VALUES)
        if prose and isinstance(v, str):
            v = MARK + v
        return dumps(with_slot(seed, p, v))
    if act < 0.8:
        raw = rng.choice(RAW_VALUES)
        if prose and raw.startswith(b"\""):
            raw = b"\"" + MARK.encode() + raw[1:]
        return dumps(with_slot(seed, p, "\x01SLOT\x01")).replace(b"\"\\u0001SLOT\\u0001\"", raw)
    parent, key = p[:-1], p[-1]
    box = seed
    for k in parent:
        box = box[k]
    box = dict(box) if isinstance(box, dict) else list(box)
    if act < 0.92:
        del box[key]
    elif isinstance(box, dict):
        box["x" * rng.randint(1, 300)] = rng.choice(HOSTILE_VALUES)
    else:
        box.insert(key, rng.choice(HOSTILE_VALUES))
    return dumps(with_slot(seed, parent, box))


def byte_mutation(rng, b):
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        if not b:
            break
        i, op = rng.randrange(len(b)), rng.random()
        if op < 0.3:
            b[i] ^= 1 << rng.randrange(8)
        elif op < 0.5:
            del b[i:i + rng.randint(1, 8)]
        elif op < 0.8:
            b[i:i] = rng.choice(INSERTS)
        elif op < 0.9:
            del b[i:]
        else:
            j = rng.randrange(len(b))
            b[i:i] = b[min(i, j):max(i, j)][:64]
    return bytes(b)


def structural(seed):
    """Bodies every JSON route gets."""
    s = dumps(seed)
    first = next((k for k, v in seed.items() if isinstance(v, str)), "model")
    big = dict(seed)
    big[first] = (MARK if first in ("prompt", "system") else "") + "y" * 200000
    deep_field = dict(seed)
    deep_field["options"] = "\x01SLOT\x01"
    return [b"", b" ", b"\r\n", b"null", b"1", b"\"x\"", b"[]", b"[{}]", b"{", b"}", b"{}",
            b"{\"a\":}", b"\xef\xbb\xbf" + s, s + b"garbage", s + s, s + b"\x00", b"\x00" * 64,
            b"\xff\xfe" + s.decode().encode("utf-16-le"), b"{\"model\":\"tiny\"," + s[1:],
            s[:-1] + b",\"model\":\"tiny\"}", s[:len(s) // 2], b"[" * 10000 + b"]" * 10000,
            b"[" * 100000, b"{\"a\":" * 10000 + b"1" + b"}" * 10000,
            dumps(deep_field).replace(b"\"\\u0001SLOT\\u0001\"", b"[" * 10000 + b"]" * 10000),
            dumps(big), dumps({("k%d" % i): i for i in range(15000)}),
            dumps(dict(seed, pad=[0] * 60000)), s + b" " * (MAX_BODY - len(s)),
            s + b" " * (MAX_BODY + 1 - len(s))]


def path_variants(rng, path):
    head, _, last = path.rpartition("/")
    return [path + "/", "/" + path, path.upper(), "/api/../" + path.lstrip("/"), path + "%00",
            path + "%2f..", path + "/../../../../etc/passwd", path + "?a=1&a=2&%zz=%&=&&",
            path + ";x=1", path + "#frag", head + "/%" + "%02x" % ord(last[0]) + last[1:] if last
            else path + "%20", path + "?q=" + "%41" * 2000, path.encode() + b"\xff"]


AUTH_VARIANTS = [
    [("Authorization", "Bearer")], [("Authorization", "Bearer ")],
    [("Authorization", "Basic YWRtaW46eA==")], [("Authorization", "Bearer ccai_" + "A" * 43)],
    [("Authorization", "Bearer ccai_" + "x" * 8000)], [("Authorization", "Bearer " + "\u00e9" * 40)],
    [("Authorization", b"Bearer ccai_\xff\xfe" + b"A" * 41)], [("Cookie", "ccai_session=")],
    [("Cookie", "ccai_session=" + "A" * 5000)], [("Cookie", "ccai_session=a; ccai_session=b")],
    [("Cookie", "=;=;;;ccai_session")], [("Cookie", "ccai_session=" + "A" * 43)]]


def auth_variants(route):
    key = CRED["user"][0][1][7:]
    tok = CRED["cookie"][0][1]
    return AUTH_VARIANTS + [
        [("Authorization", "bearer " + key)], [("Authorization", "Bearer " + key + " ")],
        [("Authorization", "Bearer  " + key)], [("Authorization", "Bearer " + key[:-1])],
        [("Authorization", "Bearer " + key[:-1] + chr(ord(key[-1]) ^ 1))],
        [("Authorization", "Bearer " + key), ("Authorization", CRED["admin"][0][1])],
        [("Authorization", "Bearer " + key), ("Cookie", tok)],
        [("Cookie", tok), ("Origin", "https://evil.example")], [("Cookie", tok), ("Origin", "null")],
        [("Cookie", tok), ("Origin", "https://127.0.0.1:%d" % PORT)],
        [("Cookie", tok), ("Origin", "https://127.0.0.1:%d" % PORT + "a" * 600)],
        [("Cookie", tok), ("Host", "h" * 700), ("Origin", "https://" + "h" * 700)]]


CONTENT_TYPES = ["text/plain", "application/json; charset=utf-16", "multipart/form-data; b=x",
                 "application/x-www-form-urlencoded", "application/json" + ";x" * 2000, ""]


def plan_route(p, route):
    rng = p.rng
    method, pattern = route.split(" ", 1)
    path = pattern.replace("*", SEGMENTS.get(route, ""))
    seeds = SEEDS.get(route, [])
    body = dumps(seeds[0]) if seeds else None
    for s in seeds:
        p.add(route, method, path, body=dumps(s))
    for s in seeds:  # every field, every JSON type
        for slot in [q for q in slots(s) if q]:
            prose = isinstance(slot[-1], str) and slot[-1] in ("prompt", "content", "system", "text")
            for v in [None, True, 1, -1.5, MARK + " s" if prose else "s", [], {}]:
                p.add(route, method, path, body=dumps(with_slot(s, slot, v)))
    for _ in range(40 if seeds else 0):
        p.add(route, method, path, p.cred(route), body=json_mutation(rng, rng.choice(seeds)))
    for _ in range(30 if seeds else 0):
        p.add(route, method, path, p.cred(route), body=byte_mutation(rng, dumps(rng.choice(seeds))))
    for b in (structural(seeds[0]) if seeds else []):
        p.add(route, method, path, body=b)
    for ct in (CONTENT_TYPES if seeds else []):
        p.add(route, method, path, headers=[("Content-Type", ct)], body=body)
    for m in METHODS:
        if m != method:
            p.add(route, m, path, body=body if m not in ("GET", "HEAD") else None)
    for h in auth_variants(route):
        p.add(route, method, path, "none", headers=h, body=body)
    for v in path_variants(rng, path):
        p.add(route, method, v, body=body)
    if method == "GET":  # a body, and junk queries, where none is expected
        p.add(route, method, path, body=b"{\"model\":\"tiny\"}")
        p.add(route, method, path + "?" + "&".join("k%d=%s" % (i, "v" * i) for i in range(200)))
    if "*" in pattern:
        for seg in ["", ".", "..", "%2e%2e", "%2F", "a%2Fb", "%00", "%ff", "%c0%af", "admin%00",
                    "x" * 5000, "%41" * 2000, "TINY:LATEST", "tiny:latest/../x", "' OR 1=1 --",
                    "%s%s%n", "%F0%9F%99%82", "a%20b", "+", "..%2f..%2f", "%25", "*", "?x",
                    "ccai_" + "A" * 43, "ccai_AAAAAAA", SEGMENTS[route] + "/extra"]:
            p.add(route, method, pattern[:-1] + seg)
    if route == "GET /api/attestation":
        for q in [NONCE, "", "=", "A" * 43, "A" * 42, "A" * 44, NONCE + "=", NONCE + "==", "%00",
                  NONCE[:-1] + "%00", "+" * 43, "/" * 43, "A" * 65, "A" * 10000, NONCE + "&nonce=x",
                  "\u00e9" * 20, "%zz" * 15, "%ff" * 32, NONCE.replace("-", "+")]:
            p.add(route, method, "/api/attestation?nonce=" + q)
        p.add(route, method, "/api/attestation?nonce[]=" + NONCE)
        p.add(route, method, b"/api/attestation?nonce=" + b"\xff" * 43)


def plan_other(p):
    for m in ["GET", "POST", "DELETE"]:
        for path in ["*", "api/tags", "/..", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/%00", "/%", "/%zz", "/" + "a" * 8000, "/" + "%41" * 3000, "//",
                     "/\\..\\..\\", "/api/", "/v1/", "/v1/models/", "/api/admin/users/",
                     "/api/keys/", "/api/admin/keys/", "/api/attestation/", "/index.html",
                     "/app.js.map", "/.env", "/api/tags/../../../", b"/\x00", b"/\xc0\xae"]:
            p.add("other", m, path, "user", body=b"{}" if m == "POST" else None)
    gen = dumps(SEEDS["POST /api/generate"][1])
    key = CRED["user"][0][1]
    pre = b"POST /api/generate HTTP/1.1\r\nHost: x\r\nAuthorization: " + key.encode()
    for raw in [
            b"GET /api/version HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/version HTTP/2.0\r\nHost: x\r\n\r\n", b"GET /api/version\r\n\r\n",
            b"GET /api/version HTTP/1.1\r\nBad Header\r\n\r\n", b"\r\n\r\n\r\n",
            b"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x00abc\r\n\r\n",
            b"GET /api/version HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 300 + b"\r\n",
            b"GET /api/version HTTP/1.1\r\n Host: x\r\n\r\n",
            b"GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /api/version HTTP/1.0\r\n\r\n",
            pre + b"\r\nContent-Length: -1\r\n\r\n" + gen,
            pre + b"\r\nContent-Length: abc\r\n\r\n" + gen,
            pre + b"\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n" + gen,
            pre + b"\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(gen), gen),
            pre + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
            b"".join(b"1;ext=x\r\n" + gen[i:i + 1] + b"\r\n" for i in range(len(gen))) + b"0\r\n\r\n",
            pre + b"\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n",
            pre + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
            pre + b"\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (len(gen), gen),
            pre + b"\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(gen) + gen,
            pre + b"\r\nContent-Length: %d\r\n\r\n" % len(gen) + gen + b"GET /api/version HTTP/1.1\r\n\r\n",
            b"GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n" * 50]:
        # A last request that closes: the replies end with the connection.
        p.add("raw", "RAW", "", "none", raw=raw + b"GET /api/version HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n")
    for raw, plain in [(b"", True), (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
                       (bytes(random.Random(7).randrange(256) for _ in range(512)), True),
                       (b"", False), (b"GET /api/vers", False),
                       (pre + b"\r\nContent-Length: 100\r\n\r\n" + gen[:10], False),
                       (pre + b"\r\nContent-Length: %d\r\n\r\n" % len(gen) + gen, False)]:
        p.add("abandon", "RAW", "", "none", raw=raw, abandon=True, plain=plain)


# ---- running --------------------------------------------------------------------------------

def send(req, conns):
    """Replies to req; raises Dropped. Kept-alive connections are reused
    (one retry on a fresh one when a reused connection was gone)."""
    if req.raw is not None:
        c = Conn(req.src)
        try:
            c.s.sendall(req.raw)
            reps = []
            while c.open:
                try:
                    reps.append(c.reply(False))
                except Dropped as e:
                    if reps and not c.buf and ("closed" in str(e) or "no reply" in str(e)):
                        break  # closed, or kept alive, after the last answer
                    raise
                if c.open:
                    c.s.settimeout(3)
            return reps
        finally:
            c.close()
    for attempt in (0, 1):
        c = conns.get(req.src)
        fresh = c is None or not c.open
        if fresh:
            c = conns[req.src] = Conn(req.src)
        try:
            c.s.sendall(req.wire())
            return [c.reply(req.method == "HEAD")]
        except (Dropped, OSError) as e:
            c.close()
            if fresh or attempt:
                raise Dropped(str(e))


def abandon(req):
    try:
        raw = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s = raw if req.plain else CTX.wrap_socket(raw)
        s.sendall(req.raw)
        if req.plain and req.raw:
            try:
                s.recv(4096)
            except OSError:
                pass
        s.close()
    except (OSError, ssl.SSLError):
        pass


def alive():
    try:
        c = Conn()
        c.s.sendall(Req("GET /api/version", "GET", "/api/version").wire())
        return c.reply(False).status == 200
    except (Dropped, OSError):
        return False


def main():
    src = E["HOSTILE_SRC"]
    routes = registered_routes(src)
    if len(routes) < 25:
        print("FAIL: found only %d routes in %s/src/server" % (len(routes), src))
        return 1
    p = Plan(random.Random(int(E.get("HOSTILE_SEED", "20261126"))))
    for route in sorted(routes):
        plan_route(p, route)
    unknown = sorted((set(SEEDS) | set(SEGMENTS)) - routes)
    unseeded = sorted(r for r in routes if r.startswith("POST") and r not in SEEDS and
                      r != "POST /api/logout")
    if unknown or unseeded:
        print("FAIL: hostile.py is out of date: routes gone %s, POST routes without a seed "
              "body %s" % (unknown, unseeded))
        return 1
    plan_other(p)
    p.rng.shuffle(p.reqs)  # routes interleaved: state left by one meets the next
    logins = 0
    for r in p.reqs:  # spread logins over loopback source addresses (10 a minute each)
        if r.route == "POST /api/login":
            r.src, logins = "127.0.0.%d" % (2 + logins // 8), logins + 1
    findings = E.get("HOSTILE_FINDINGS")
    counts, statuses, bad, doc, conns, t0 = {}, {}, [], {}, {}, time.time()
    for n, r in enumerate(p.reqs):
        counts[r.route] = counts.get(r.route, 0) + 1
        seen = statuses.setdefault(r.route, {})
        if r.abandon:
            abandon(r)
            if not alive():
                bad.append((r, n, "the server stopped answering after this connection"))
                break
            continue
        try:
            for rep in send(r, conns):
                seen[rep.status] = seen.get(rep.status, 0) + 1
                v, d = judge(r, rep)
                if v:  # one entry per reply: its problems, then what it said
                    bad.append((r, n, "; ".join(v) + " -- reply: %d %r" % (rep.status,
                                                                      rep.body[:160])))
                for x in d:
                    doc.setdefault(x, (r, n, 0))
                    doc[x] = (doc[x][0], doc[x][1], doc[x][2] + 1)
        except Dropped as e:
            bad.append((r, n, "no reply: %s" % e))
            if not alive():
                bad.append((r, n, "the server is down"))
                break
    for c in conns.values():
        c.close()
    print("hostile: %d requests in %.1f s over %d routes (+ odd paths, raw, abandoned)" %
          (len(p.reqs), time.time() - t0, len(routes)))
    print("hostile: per route: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    if E.get("HOSTILE_VERBOSE") == "1":
        for route, seen in sorted(statuses.items()):
            print("hostile: %s: %s" % (route, " ".join("%d:%d" % kv for kv in sorted(seen.items()))))
    for what, (r, n, k) in sorted(doc.items()):
        print("hostile: documented (src/net/http.h): %s: %d replies, e.g. %s" %
              (what, k, repro(r, n, findings)))
        if STRICT:
            bad.append((r, n, what))
    groups = {}
    for r, n, why in bad:
        groups.setdefault(why.split(" -- ")[0].split(":")[0], []).append((r, n, why))
    for sig, items in groups.items():
        r, n, why = items[0]
        print("FAIL: %s (%d requests; first: %s %r)\n  reproduce: %s%s" % (
            why, len(items), r.route, (r.path if r.raw is None else r.raw)[:100],
            repro(r, n, findings), "\n  curl: " + curl(r) if curl(r) else ""))
    print("hostile: %d violations of %d kinds" % (len(bad), len(groups)))
    if findings and bad:
        with open(os.path.join(findings, "violations.txt"), "w") as f:
            for r, n, why in bad:
                f.write("%s\t%s\t%s\n" % (why, r.route, repro(r, n, findings)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
