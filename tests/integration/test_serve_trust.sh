#!/usr/bin/env bash
# `ccai serve` and the trust protocol end to end (docs/serve.md): TLS with a
# key born in memory, ccai-attest/1 evidence bound to the nonce and to the
# SPKI of the certificate the client's own connection received, RTMR3
# replayed from the measured launch (binary, config, model) and continued
# across a restart, `ccai verify` accepting the served quote; bad nonces,
# rate limits, accounts (logins, cookies, keys, roles, revocation), the
# loopback-only --tls off / --auth off, and a clean SIGTERM.
. "$(dirname "$0")/lib.sh"

if [ -f "$SHARED/models/stories260K.gguf" ]; then
  M="$SHARED/models/stories260K.gguf"
else
  echo "note: ../shared absent: using a generated tiny-llama model"
  "$CCAI" dev mkmodel --preset tiny-llama -o "$TMP/tiny.gguf" >/dev/null 2>&1 || { echo "FAIL: mkmodel"; exit 1; }
  M="$TMP/tiny.gguf"
fi
STEM=$(basename "$M" .gguf)
MODEL_SHA=$(sha256sum "$M" | cut -c1-64)
BIN_SHA=$(sha256sum "$CCAI" | cut -c1-64)
PW='correct horse battery staple'

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server NAME ARGS...: ccai serve in the background on a free loopback
# port; sets PORT, PID, BASE and LOG, and waits until it listens.
start_server() {
  local name=$1; shift
  PORT=$(free_port); LOG="$TMP/$name.log"
  "$CCAI" serve --model "$M" --tee sim --listen "127.0.0.1:$PORT" "$@" >"$TMP/$name.out" 2>"$LOG" &
  PID=$!; PIDS+=("$PID")
  BASE="https://127.0.0.1:$PORT"
  for _ in $(seq 1 200); do
    grep -q "listening on" "$LOG" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "$name: the server did not start: $(tail -3 "$LOG")"; return 1
}

# stop_server: SIGTERM must end it with exit 0 within 5 s.
stop_server() { sigterm_stop "$PID"; }

# http METHOD PATH [curl args...]: sets CODE, BODY and HDRS (lower-cased).
http() {
  local m=$1 p=$2; shift 2
  CODE=$(curl -sk -X "$m" -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' "$@" "$BASE$p")
  BODY=$(cat "$TMP/body"); HDRS=$(tr 'A-Z' 'a-z' < "$TMP/hdrs")
}
jget() { printf '%s' "$BODY" | $PY -c "import json,sys; v=json.load(sys.stdin)$1; print(v if isinstance(v, str) else json.dumps(v))"; }

# The relying party's side, written independently of ccai's code: fetch
# evidence over one connection, recompute report_data from our own nonce and
# the SPKI of the certificate this connection received, replay RTMR3, read
# the launch events. Writes q, c.json, ev.json in OUTDIR; prints report_data.
cat > "$TMP/rp.py" <<'EOF'
import base64, hashlib, json, os, socket, ssl, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
port, tls, ccai, model, out, launches = int(sys.argv[1]), sys.argv[2] == "tls", sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
bad = []
def check(ok, what):
    if not ok: bad.append(what)
nonce = os.urandom(32); n64 = base64.urlsafe_b64encode(nonce).rstrip(b"=").decode()
s = socket.create_connection(("127.0.0.1", port))
if tls:
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
    der = s.getpeercert(True)
    spki_sha = hashlib.sha256(x509.load_der_x509_certificate(der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()
s.sendall(f"GET /api/attestation?nonce={n64} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
head, _, body = data.partition(b"\r\n\r\n")
h = head.decode().lower()
if "transfer-encoding: chunked" in h:
    out_b, rest = b"", body
    while rest:
        ln, _, rest = rest.partition(b"\r\n"); n = int(ln.split(b";")[0], 16)
        if n == 0: break
        out_b += rest[:n]; rest = rest[n + 2:]
    body = out_b
check(h.startswith("http/1.1 200"), "status 200: " + h.splitlines()[0])
for hdr in ("x-content-type-options: nosniff", "referrer-policy: no-referrer", "cache-control: no-store"):
    check(hdr in h, "header " + hdr)
check(("strict-transport-security:" in h) == tls, "HSTS exactly when TLS")
ev = json.loads(body)
check(ev.get("version") == "ccai-attest/1", "version")
check(ev.get("tee") == "tdx-sim", "tee tdx-sim")
check(ev.get("nonce") == n64, "nonce echoed")
check("e2e_key" in ev and ev["e2e_key"] is None, "e2e_key null")
check(isinstance(ev.get("cc_eventlog"), str) and len(base64.b64decode(ev["cc_eventlog"])) > 0, "cc_eventlog")
q = base64.b64decode(ev["quote"])
rd = hashlib.sha512(b"ccai-attest/1\x00" + nonce + (spki_sha if tls else bytes(32)) + bytes(32)).digest()
off = 48 if q[0] == 4 else 54
check(q[off + 520:off + 584] == rd, "report_data binds nonce + the SPKI this connection received")
check(ev.get("tls_spki_sha256") == (spki_sha.hex() if tls else None), "tls_spki_sha256")
r = bytes(48); types = {}
for e in ev["event_log"]:
    check(hashlib.sha384(e["event"].encode()).hexdigest() == e["digest"], "digest = SHA-384(event)")
    if e.get("mr") == 3: r = hashlib.sha384(r + bytes.fromhex(e["digest"])).digest()
    j = json.loads(e["event"])
    check(e["event"] == json.dumps(j, sort_keys=True, separators=(",", ":"), ensure_ascii=False), "canonical event text")
    types.setdefault(j["type"], []).append(j["data"])
check(q[off + 472:off + 520] == r, "RTMR3 replays from the event log")
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
stem = os.path.basename(model).rsplit(".", 1)[0]
check(len(types.get("ccai.binary", [])) == launches, "ccai.binary events: %d" % len(types.get("ccai.binary", [])))
check(len(types.get("ccai.config", [])) == launches, "ccai.config events")
check(len(types.get("ccai.model", [])) == launches, "ccai.model events")
for b in types.get("ccai.binary", []):
    check(b["sha256"] == sha(ccai) and b["size"] == os.path.getsize(ccai), "ccai.binary names the binary's SHA-256 and size")
for m in types.get("ccai.model", []):
    check(m == {"name": stem + ":latest", "sha256": sha(model), "size": os.path.getsize(model)}, "ccai.model event: %r" % m)
cfg = types.get("ccai.config", [{}])[-1]
check(cfg.get("tls") == tls and cfg.get("tee") == "sim" and cfg.get("listen") == "127.0.0.1:%d" % port, "ccai.config: %r" % cfg)
check(not any(k for k in cfg if "password" in k), "no password in the config event")
order = [json.loads(e["event"])["type"] for e in ev["event_log"]][-3:]
check(order == ["ccai.binary", "ccai.config", "ccai.model"], "launch order binary, config, model: %r" % order)
open(out + "/q", "wb").write(q)
json.dump(ev.get("collateral"), open(out + "/c.json", "w"))
json.dump(ev, open(out + "/ev.json", "w"))
for b in bad: print("FAIL: " + b)
print(rd.hex())
sys.exit(1 if bad else 0)
EOF

# rp LABEL tls|plain LAUNCHES: the relying-party check plus `ccai verify`.
rp() {
  local d="$TMP/rp-$1"; mkdir -p "$d"
  local o; o=$($PY "$TMP/rp.py" "$PORT" "$2" "$CCAI" "$M" "$d" "$3"); local rc=$?
  if [ $rc -ne 0 ]; then fail "$1: relying-party checks"; printf '%s\n' "$o" | grep FAIL | head -10; return 1; fi
  pass
  RD=$(printf '%s' "$o" | tail -1)
  expect_rc 0 "$CCAI" verify "$d/q" --collateral "$d/c.json" --trust-simulated --report-data "$RD" --event-log "$d/ev.json"
  expect_contains "$OUT" "PASS" "$1: ccai verify"
  # Fails closed: the report data of another nonce.
  expect_rc 2 "$CCAI" verify "$d/q" --collateral "$d/c.json" --trust-simulated --report-data "$(printf '00%.0s' $(seq 64))" --event-log "$d/ev.json"
}

# --- usage: unsafe settings refused before anything starts ---
P0=$(free_port)
expect_rc 2 "$CCAI" serve --model "$M" --tee sim --state-dir "$TMP/u" --listen "0.0.0.0:$P0" --auth off
expect_contains "$ERR" "--auth off is only allowed on a loopback address" "--auth off on 0.0.0.0"
expect_eq "$(wc -l < "$TMP/err")" "1" "a usage error is one line"
expect_rc 2 "$CCAI" serve --model "$M" --tee sim --state-dir "$TMP/u" --listen "0.0.0.0:$P0" --tls off
expect_contains "$ERR" "--tls off is only allowed on a loopback address" "--tls off on 0.0.0.0"
expect_rc 2 "$CCAI" serve --tee sim --state-dir "$TMP/u"
expect_contains "$ERR" "missing --model" "no model"
expect_rc 2 "$CCAI" serve --model "$M" --tls maybe
expect_rc 2 "$CCAI" serve --model "$M" --tls-cert "$TMP/c.pem"
expect_rc 2 "$CCAI" serve --model "$M" --tee quantum
expect_rc 2 "$CCAI" serve --model "$M" --bogus
expect_rc 1 "$CCAI" serve --model "$TMP/missing.gguf" --tee sim --state-dir "$TMP/u" --listen "127.0.0.1:$P0"
expect_contains "$ERR" "No such file" "missing model"
[ -e "$TMP/u/sim/eventlog.jsonl" ] && ! grep -q ccai.model "$TMP/u/sim/eventlog.jsonl" && pass || fail "a missing model is never measured"

# --- first launch: TLS, evidence, verify ---
CCAI_ADMIN_PASSWORD=$PW start_server one --state-dir "$TMP/s" || { finish; }
http GET /api/version
expect_eq "$CODE" "200" "/api/version over TLS"
expect_contains "$BODY" '"version"' "/api/version body"
expect_contains "$HDRS" "strict-transport-security: max-age" "HSTS"
expect_contains "$(cat "$LOG")" "TLS SPKI SHA-256" "SPKI printed at start"
rp first tls 1
SPKI=$(printf '%s' "$(cat "$LOG")" | sed -n 's/.*TLS SPKI SHA-256 \([0-9a-f]*\).*/\1/p')
http GET /api/attestation/config
expect_eq "$CODE" "200" "/api/attestation/config"
expect_eq "$(jget '["tee"]')" "tdx-sim" "config tee"
expect_eq "$(jget '["tls_spki_sha256"]')" "$SPKI" "config SPKI = the one printed"
# A relying party that checks only the platform (default policy, no log)
# accepts the quote; one whose policy names the served model's digest needs
# the log, and fails closed without it.
d="$TMP/rp-first"
expect_rc 0 "$CCAI" verify "$d/q" --collateral "$d/c.json" --trust-simulated --report-data "$RD"
printf '{"id":"m","allow_simulated":true,"model_sha256":["%s"]}' "$MODEL_SHA" > "$TMP/p-model.json"
expect_rc 0 "$CCAI" verify "$d/q" --collateral "$d/c.json" --policy "$TMP/p-model.json" --event-log "$d/ev.json"
expect_rc 2 "$CCAI" verify "$d/q" --collateral "$d/c.json" --policy "$TMP/p-model.json"
expect_contains "$OUT" "model_sha256: expected one of" "model policy without the log"

# --- bad nonces: 400 with a JSON error ---
for n in "" "nonce=" "nonce=abc" "nonce=!!!!" "nonce=$(printf 'A%.0s' $(seq 44))" "nonce=$($PY -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(33)).rstrip(b"=").decode())')"; do
  http GET "/api/attestation?$n"
  expect_eq "$CODE" "400" "bad nonce '$n'"
  expect_contains "$BODY" '"error"' "bad nonce '$n' error body"
done
http POST /api/attestation -d 'not json'
expect_eq "$CODE" "400" "POST with a body that is not JSON"
http POST /api/attestation -d '{"nonce": 7}'
expect_eq "$CODE" "400" "POST with a nonce that is not a string"
N64=$($PY -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')
http POST /api/attestation -d "{\"nonce\": \"$N64\"}"
expect_eq "$CODE" "200" "POST /api/attestation"
expect_eq "$(jget '["nonce"]')" "$N64" "POST echoes the nonce"

# --- accounts: 401 without credentials, login, roles, keys, revocation ---
http GET /api/me
expect_eq "$CODE" "401" "/api/me without credentials"
expect_contains "$HDRS" "www-authenticate: bearer" "401 names the Bearer scheme"
expect_eq "$BODY" '{"error":"authentication required"}' "401 body"
http GET /api/tags
expect_eq "$CODE" "401" "/api/tags without credentials"
http GET /api/me -H "Authorization: Bearer ccai_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_eq "$CODE" "401" "an unknown key"
http POST /api/login -d '{"username":"admin","password":"wrong password"}'
expect_eq "$CODE" "401" "wrong password"
http POST /api/login -d '{"username":"admin"}'
expect_eq "$CODE" "400" "login without a password"
http POST /api/login -d "{\"username\":\"admin\",\"password\":\"$PW\"}" -c "$TMP/jar"
expect_eq "$CODE" "200" "admin login with CCAI_ADMIN_PASSWORD"
COOKIE=$(printf '%s' "$HDRS" | grep '^set-cookie:')
for attr in "ccai_session=" "httponly" "secure" "samesite=strict" "path=/"; do
  expect_contains "$COOKIE" "$attr" "session cookie attribute"
done
http GET /api/me -b "$TMP/jar"
expect_eq "$CODE" "200" "/api/me with the session cookie"
# a second session cookie (planted by another page: cookie tossing) is refused
TOKEN=$(awk '$6 == "ccai_session" {print $7}' "$TMP/jar")
http GET /api/me -H "Cookie: ccai_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; ccai_session=$TOKEN"
expect_eq "$CODE" "401" "two session cookies"
# login and logout only from this origin (login CSRF)
http POST /api/login -H "Origin: https://evil.example" -d "{\"username\":\"admin\",\"password\":\"$PW\"}"
expect_eq "$CODE" "403" "a login from another origin"
expect_eq "$BODY" '{"error":"cross-origin request refused"}' "its reason"
expect_not_contains "$HDRS" "set-cookie" "no cookie for it"
http POST /api/logout -b "$TMP/jar" -H "Origin: https://evil.example"
expect_eq "$CODE" "403" "a logout from another origin"
http GET /api/me -b "$TMP/jar"
expect_eq "$CODE" "200" "the session survives it"
expect_eq "$(jget '["user"]["role"]')" "admin" "the cookie's user is admin"
http POST /api/admin/users -b "$TMP/jar" -H "Origin: https://evil.example" -d '{"name":"x","password":"12345678"}'
expect_eq "$CODE" "403" "cookie request from another origin"
http POST /api/admin/users -b "$TMP/jar" -d '{"name":"alice","password":"alice password","role":"user"}'
expect_eq "$CODE" "201" "admin creates a user"
expect_eq "$(jget '["user"]["role"]')" "user" "created with role user"
http POST /api/admin/users -b "$TMP/jar" -d '{"name":"alice","password":"alice password"}'
expect_eq "$CODE" "409" "the name is taken"
http POST /api/admin/users -b "$TMP/jar" -d '{"name":"Bad Name!","password":"12345678"}'
expect_eq "$CODE" "400" "bad user name"
http POST /api/admin/users -b "$TMP/jar" -d '[]'
expect_eq "$CODE" "400" "body not an object"
http POST /api/admin/keys -b "$TMP/jar" -d '{"user":"alice","label":"ci"}'
expect_eq "$CODE" "201" "admin creates a key for alice"
KEY=$(jget '["key"]'); KID=$(jget '["id"]')
expect_contains "$KEY" "ccai_" "the key is shown"
http POST /api/admin/keys -b "$TMP/jar" -d '{"user":"nobody","label":"x"}'
expect_eq "$CODE" "404" "a key for a user who does not exist"
http GET /api/tags -H "Authorization: Bearer $KEY"
expect_eq "$CODE" "200" "the key works for /api/tags"
http GET /api/me -H "Authorization: Bearer $KEY"
expect_eq "$(jget '["user"]["name"]')" "alice" "the key is alice's"
http GET /api/admin/users -H "Authorization: Bearer $KEY"
expect_eq "$CODE" "403" "a user-role key on an admin endpoint"
http POST /api/admin/keys -H "Authorization: Bearer $KEY" -d '{"label":"x"}'
expect_eq "$CODE" "403" "a user-role key cannot make keys for others"
http POST /api/keys -H "Authorization: Bearer $KEY" -d '{"label":"own"}'
expect_eq "$CODE" "201" "a user makes their own key"
KEY2=$(jget '["key"]')
http GET /api/keys -H "Authorization: Bearer $KEY2"
expect_eq "$(jget '["keys"].__len__()')" "2" "a user lists their own keys"
http GET /api/admin/users -b "$TMP/jar"
expect_eq "$CODE" "200" "admin lists users"
expect_contains "$BODY" '"alice"' "alice listed"
http DELETE "/api/admin/keys/$KID" -b "$TMP/jar"
expect_eq "$CODE" "200" "admin revokes alice's key"
http GET /api/tags -H "Authorization: Bearer $KEY"
expect_eq "$CODE" "401" "a revoked key"
http GET /api/tags -H "Authorization: Bearer $KEY2"
expect_eq "$CODE" "200" "alice's other key still works"
# passwords: one's own with the current one, an admin's reset (another source
# address: the login bucket of 127.0.0.1 is the rate-limit check's below)
A=(--interface 127.0.0.3)
http POST /api/me/password "${A[@]}" -H "Authorization: Bearer $KEY2" -d '{"password":"wrong one","new_password":"alice new password"}'
expect_eq "$CODE" "401" "own password change with a wrong current one"
http POST /api/me/password "${A[@]}" -H "Authorization: Bearer $KEY2" -d '{"password":"alice password","new_password":"short"}'
expect_eq "$CODE" "400" "a new password too short"
http POST /api/me/password "${A[@]}" -H "Authorization: Bearer $KEY2" -d '{"password":"alice password","new_password":"alice new password"}'
expect_eq "$CODE" "200" "own password changed"
expect_eq "$BODY" '{"user":"alice","sessions_ended":true}' "its answer"
expect_contains "$HDRS" "set-cookie: ccai_session=; path=/" "the cookie cleared"
http POST /api/login "${A[@]}" -d '{"username":"alice","password":"alice password"}'
expect_eq "$CODE" "401" "the old password no longer logs in"
http POST /api/login "${A[@]}" -d '{"username":"alice","password":"alice new password"}'
expect_eq "$CODE" "200" "the new one does"
http POST /api/admin/users/alice/password "${A[@]}" -H "Authorization: Bearer $KEY2" -d '{"password":"alice reset password"}'
expect_eq "$CODE" "403" "a user cannot reset passwords"
http POST /api/admin/users/alice/password "${A[@]}" -b "$TMP/jar" -d '{"password":"alice reset password"}'
expect_eq "$CODE" "200" "an admin resets alice's password"
http POST /api/login --interface 127.0.0.4 -d '{"username":"alice","password":"alice reset password"}'
expect_eq "$CODE" "200" "the reset password logs in"
http POST /api/admin/users/nobody/password "${A[@]}" -b "$TMP/jar" -d '{"password":"some password"}'
expect_eq "$CODE" "404" "a reset for no such user"
http POST /api/admin/users/alice/other "${A[@]}" -b "$TMP/jar" -d '{"password":"some password"}'
expect_eq "$CODE" "404" "no such endpoint"
http DELETE /api/admin/users/alice -b "$TMP/jar"
expect_eq "$CODE" "200" "admin deletes alice"
http GET /api/tags -H "Authorization: Bearer $KEY2"
expect_eq "$CODE" "401" "a deleted user's key"
http POST /api/logout -b "$TMP/jar"
expect_eq "$CODE" "200" "logout"
expect_contains "$HDRS" "max-age=0" "logout clears the cookie"
http GET /api/me -b "$TMP/jar"
expect_eq "$CODE" "401" "the session is over after logout"
# A login's Argon2 runs on a worker thread, not the event loop: a request
# sent while four logins hash (the workers' bound) is answered before the
# last of them (on the loop, it waited for all four: ~70 ms each, 241 ms
# after the first; before the first is not asked, as four hashing threads
# on two cores may slow the loop's own answer past one login).
LOGINS=()
for i in 1 2 3 4; do
  ( c=$(curl -sk -o /dev/null -w '%{http_code}' "$BASE/api/login" \
        -d "{\"username\":\"admin\",\"password\":\"$PW\"}")
    echo "$c $(date +%s%N)" >"$TMP/login$i" ) &
  LOGINS+=($!)
done
sleep 0.03
code=$(curl -sk -o /dev/null -w '%{http_code}' "$BASE/api/version"); t_version=$(date +%s%N)
wait "${LOGINS[@]}"
expect_eq "$code" "200" "/api/version during the logins"
last=$(cat "$TMP"/login[1-4] | awk '{print $2}' | sort -n | tail -1)
expect_eq "$(cat "$TMP"/login[1-4] | awk '{print $1}' | sort | uniq -c | tr -s ' ')" " 4 200" \
  "four logins at once all answered 200"
[ "$t_version" -lt "$last" ] && pass || \
  fail "/api/version answered $(( (t_version - last) / 1000000 )) ms after the last login"
# Login attempts are rate-limited per client address (10 a minute).
got429=no
for _ in $(seq 1 12); do
  http POST /api/login -d '{"username":"admin","password":"guess guess"}'
  [ "$CODE" = "429" ] && { got429=yes; break; }
done
expect_eq "$got429" "yes" "login attempts limited"
expect_contains "$HDRS" "retry-after:" "429 says when to retry"
# The access log: one JSON line per request, no secrets.
expect_contains "$(cat "$LOG")" '"path":"/api/login","status":200' "access log line"
grep -qF "$PW" "$LOG" && fail "the admin password is in the log" || pass
grep -qF "$KEY" "$LOG" && fail "an API key is in the log" || pass
stop_server

# --- second launch on the same state: the log continues (RTMR3 persists) ---
start_server two --state-dir "$TMP/s" || { finish; }
rp second tls 2
stop_server

# --- a fresh state without CCAI_ADMIN_PASSWORD: a generated password, shown once ---
unset CCAI_ADMIN_PASSWORD
start_server three --state-dir "$TMP/s3" --attest-per-minute 2 || { finish; }
GEN=$(grep -A1 'created the first user "admin"' "$LOG" | tail -1 | tr -d ' ')
expect_eq "${#GEN}" "32" "a generated 32-character password is printed"
http POST /api/login -d "{\"username\":\"admin\",\"password\":\"$GEN\"}"
expect_eq "$CODE" "200" "the generated password logs in"
codes=""
for _ in 1 2 3; do
  http GET "/api/attestation?nonce=$N64"
  codes="$codes$CODE "
done
expect_eq "$codes" "200 200 429 " "attestation rate limit per client"
expect_contains "$HDRS" "retry-after:" "429 says when to retry"
expect_contains "$BODY" '"error"' "429 JSON body"
stop_server

# --- --tls off on loopback: a warning, evidence binds no TLS key ---
MY_PW='another long password' start_server four --state-dir "$TMP/s4" --tls off --admin-password-env MY_PW || { finish; }
BASE="http://127.0.0.1:$PORT"
expect_contains "$(cat "$LOG")" "warning: --tls off" "--tls off warns"
expect_contains "$(cat "$LOG")" "listening on http://127.0.0.1:$PORT" "plain HTTP announced"
http GET /api/attestation/config
expect_eq "$(jget '["tls_spki_sha256"]')" "null" "config SPKI null without TLS"
rp plain plain 1
http POST /api/login -d '{"username":"admin","password":"another long password"}'
expect_eq "$CODE" "200" "--admin-password-env names the variable"
stop_server

# --- --auth off on loopback: a warning, everyone is an anonymous admin ---
start_server five --state-dir "$TMP/s5" --auth off || { finish; }
expect_contains "$(cat "$LOG")" "warning: --auth off" "--auth off warns"
http GET /api/me
expect_eq "$CODE" "200" "/api/me with --auth off"
expect_eq "$(jget '["auth"]')" "off" "anonymous caller"
http GET /api/admin/users
expect_eq "$CODE" "404" "no accounts with --auth off"
# with everyone an admin, a browser page must not call in: another origin,
# or a Host that is not a loopback name (DNS rebinding), is refused
http POST /api/show -H "Origin: https://evil.example" -H "Content-Type: text/plain" -d '{"model":"x"}'
expect_eq "$CODE" "403" "--auth off: another origin"
expect_eq "$BODY" '{"error":"cross-origin request refused"}' "--auth off: its reason"
http GET /api/me -H "Host: evil.example:$PORT"
expect_eq "$CODE" "403" "--auth off: a rebinding Host"
expect_eq "$BODY" '{"error":"--auth off: expected a loopback Host (localhost, 127.x.x.x, [::1]), found another name"}' "--auth off: the Host reason"
http POST /api/show -H "Host: evil.example:$PORT" -H "Origin: https://evil.example:$PORT" -d '{"model":"x"}'
expect_eq "$CODE" "403" "--auth off: a rebinding page's own origin"
for h in "localhost:$PORT" "127.0.0.1:$PORT" "LOCALHOST"; do
  http GET /api/me -H "Host: $h"
  expect_eq "$CODE" "200" "--auth off: Host $h"
done
stop_server

# --- quotes are made on worker threads: slow ones (CCAI_SIM_QUOTE_MS, as a
# real TD's through its quote generation service) hold up no other request;
# eight are made at once and a ninth is refused with 503 ---
CCAI_SIM_QUOTE_MS=2000 start_server seven --state-dir "$TMP/s8" --auth off || { finish; }
N7=$($PY -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
QUOTES=()
for i in 1 2 3 4 5 6 7 8 9; do
  ( curl -sk -o "$TMP/q$i.json" -D "$TMP/q$i.hdr" -w '%{http_code}\n' \
      "$BASE/api/attestation?nonce=$N7" >"$TMP/q$i.code"; date +%s%N >"$TMP/q$i.t" ) &
  QUOTES+=($!)
done
sleep 0.3
code=$(curl -sk -o /dev/null -w '%{http_code}' "$BASE/api/version"); t_version=$(date +%s%N)
wait "${QUOTES[@]}"
expect_eq "$code" "200" "/api/version while quotes are made"
expect_eq "$(cat "$TMP"/q[1-9].code | sort | uniq -c | tr -s ' ' | tr '\n' ',')" " 8 200, 1 503," \
  "eight quotes at once, the ninth refused"
first=; busy=
for i in 1 2 3 4 5 6 7 8 9; do
  if [ "$(cat "$TMP/q$i.code")" = 200 ]; then
    t=$(cat "$TMP/q$i.t"); { [ -z "$first" ] || [ "$t" -lt "$first" ]; } && first=$t; ok=$i
  else
    busy=$i
  fi
done
[ -n "$first" ] && [ "$t_version" -lt "$first" ] && pass || \
  fail "/api/version answered after a quote: $t_version vs ${first:-none}"
expect_eq "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["nonce"])' "$TMP/q$ok.json")" \
  "$N7" "a slow quote's evidence carries its nonce"
expect_eq "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$TMP/q$busy.json")" \
  "busy: 8 attestations are being made; retry in 1 s" "the ninth's 503 message"
expect_contains "$(tr 'A-Z' 'a-z' <"$TMP/q$busy.hdr")" "retry-after: 1" "the 503 says when to retry"
stop_server
P7=$(free_port)
CCAI_SIM_QUOTE_MS=soon expect_rc 1 "$CCAI" serve --model "$M" --tee sim --state-dir "$TMP/s9" \
  --listen "127.0.0.1:$P7" --auth off
expect_contains "$ERR" 'CCAI_SIM_QUOTE_MS: expected milliseconds 0..60000, found "soon"' \
  "a bad CCAI_SIM_QUOTE_MS is refused"

# --- the operator's certificate and key: evidence binds that key ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/k.pem" \
  -out "$TMP/c.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/k2.pem" >/dev/null 2>&1
P6=$(free_port)
expect_rc 1 "$CCAI" serve --model "$M" --tee sim --state-dir "$TMP/s7" --listen "127.0.0.1:$P6" --auth off \
  --tls-cert "$TMP/c.pem" --tls-key "$TMP/k2.pem"
expect_contains "$ERR" "tls" "a key that does not match the certificate"
start_server six --state-dir "$TMP/s6" --auth off --tls-cert "$TMP/c.pem" --tls-key "$TMP/k.pem" || { finish; }
expect_contains "$(cat "$LOG")" "key from --tls-key" "file key announced"
rp files tls 1
FILE_SPKI=$(openssl x509 -in "$TMP/c.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
EV_SPKI=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["tls_spki_sha256"])' "$TMP/rp-files/ev.json")
expect_eq "$EV_SPKI" "$FILE_SPKI" "tls_spki_sha256 is the certificate file's SPKI"
CFG=$($PY -c 'import json,sys; e=[json.loads(x["event"]) for x in json.load(open(sys.argv[1]))["event_log"]]; c=[x["data"] for x in e if x["type"]=="ccai.config"][-1]; print(c["tls_key"], c["tls_cert_sha256"])' "$TMP/rp-files/ev.json")
expect_eq "$CFG" "file $(sha256sum "$TMP/c.pem" | cut -c1-64)" "ccai.config names the certificate file's SHA-256"
grep -qF "$(sed -n 2p "$TMP/k.pem")" "$TMP/rp-files/ev.json" "$LOG" && fail "key material in evidence or log" || pass
stop_server
finish
