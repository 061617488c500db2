#!/usr/bin/env bash
# The relying party against a live `ccai serve` on the simulated TD
# (docs/attest.md): `ccai attest` local and through `ccai verifier`, and
# `ccai chat`, which sends nothing unless attestation passes. Each failure
# is shown failing closed with its reason: untrusted simulated root, a policy
# naming another model, a TLS man in the middle, a replayed answer, a debug
# TD, a lying service, and a key change after a successful attestation.
. "$(dirname "$0")/lib.sh"

if [ -f "$SHARED/models/stories260K.gguf" ]; then
  M="$SHARED/models/stories260K.gguf"
else
  echo "note: ../shared absent: using a generated tiny-llama model"
  "$CCAI" dev mkmodel --preset tiny-llama -o "$TMP/tiny.gguf" >/dev/null 2>&1 || { echo "FAIL: mkmodel"; exit 1; }
  M="$TMP/tiny.gguf"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# serve NAME ARGS...: sets PORT and URL.
serve() {
  local name=$1; shift
  PORT=$(free_port)
  "$CCAI" serve --model "$M" --tee sim --auth off --listen "127.0.0.1:$PORT" --state-dir "$TMP/$name" \
    --access-log "$TMP/$name.access" "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
  PIDS+=($!); disown $!
  URL="https://127.0.0.1:$PORT"
  wait_port "$PORT" || fail "$name did not start: $(tail -2 "$TMP/$name.log")"
}
# proxy MODE ARG: the adversary in front of the server; sets PURL and PLOG.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/px.key" -out "$TMP/px.crt" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
proxy() {
  local pp; pp=$(free_port); PLOG="$TMP/proxy-$1.log"; : > "$PLOG"
  $PY "$HERE/rp_proxy.py" "$1" "$pp" "$PORT" "$TMP/px.crt" "$TMP/px.key" "$PLOG" ${2:-} &
  PIDS+=($!); disown $!
  PURL="https://127.0.0.1:$pp"
  wait_port "$pp" || fail "proxy $1 did not start"
}

serve main --attest-per-minute 600
MAIN_URL=$URL; MAIN_PORT=$PORT

# --- local verification ----------------------------------------------------------
expect_rc 0 "$CCAI" attest "$URL" --local --trust-simulated
expect_contains "$OUT" "PASS: verified, but the TEE is SIMULATED (tdx-sim): NOT confidential" "simulated pass"
expect_contains "$OUT" "✓ tls_binding" "binding step"
expect_contains "$OUT" "✓ runtime_replay       the runtime event log (3 events) replays to RTMR3" "RTMR3 replayed"
expect_contains "$OUT" "✓ collateral_source    the server's own bundle, issued 20" "the collateral's source is said"
expect_contains "$OUT" "a server may send an older one that is still valid; --pcs or --collateral verify against collateral it did not choose" \
  "and what that means"
NC=$($PY -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
curl -sk "$URL/api/attestation?nonce=$NC" | $PY -c 'import json,sys; json.dump(json.load(sys.stdin)["collateral"], sys.stdout)' >"$TMP/coll.json"
expect_rc 0 "$CCAI" attest "$URL" --local --trust-simulated --collateral "$TMP/coll.json"
expect_not_contains "$OUT" "collateral_source" "no collateral_source for --collateral"
expect_rc 0 "$CCAI" attest "$URL" --trust-simulated --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["pass"], d["tee"], d["mode"], d["verdict"]["events"]["models"][0]["sha256"])')" \
  "True tdx-sim local $(sha256sum "$M" | cut -c1-64)" "JSON report"
# the simulated root is never trusted unless asked
expect_rc 2 "$CCAI" attest "$URL"
expect_contains "$OUT" "✗ pck_chain            untrusted root: simulated TDX root CA" "untrusted simulated root"
expect_contains "$OUT" "FAIL: rejected; nothing may be sent to this server" "fail line"

# collateral that cannot be had: exit 3, as ccai verify
expect_rc 3 "$CCAI" attest "$URL" --trust-simulated --pcs https://127.0.0.1:9 --cache-dir "$TMP/pcs-cache"
expect_contains "$OUT" "FAIL: no collateral to verify against" "no collateral"

# a policy written by ccai measure passes; one naming another model fails
expect_rc 0 "$CCAI" measure --binary "$CCAI" --model "$M" -o "$TMP/policy.json"
expect_rc 0 "$CCAI" attest "$URL" --trust-simulated --policy "$TMP/policy.json"
expect_contains "$OUT" "✓ policy.model_sha256" "measured policy: model"
expect_contains "$OUT" "✓ policy.binary_sha256" "measured policy: binary"
expect_rc 0 "$CCAI" attest "$URL" --trust-simulated --policy "$TMP/policy.json" --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(json.load(sys.stdin)["code_pinned"])')" "True" \
  "a measured policy pins the code"
expect_rc 0 "$CCAI" attest "$URL" --trust-simulated --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(json.load(sys.stdin)["code_pinned"])')" "False" \
  "the default policy pins none"
sed "s/$(sha256sum "$M" | cut -c1-64)/$(printf '0%.0s' $(seq 64))/" "$TMP/policy.json" > "$TMP/policy-bad.json"
expect_rc 2 "$CCAI" attest "$URL" --trust-simulated --policy "$TMP/policy-bad.json"
expect_contains "$OUT" "✗ policy.model_sha256  model_sha256: expected one of [$(printf '0%.0s' $(seq 64))], found $(sha256sum "$M" | cut -c1-64)" "wrong model digest"
# measure predicts RTMR3 exactly, given serve's configuration
"$CCAI" serve --model "$M" --tee sim --auth off --listen "127.0.0.1:$PORT" --state-dir "$TMP/main" \
  --access-log "$TMP/main.access" --attest-per-minute 600 --print-config > "$TMP/config.json"
expect_rc 0 "$CCAI" measure --binary "$CCAI" --config "$TMP/config.json" --model "$M"
PRED=$(printf '%s' "$OUT" | sed -n 's/^rtmr_3 \([0-9a-f]*\).*/\1/p')
expect_rc 0 "$CCAI" attest "$URL" --trust-simulated --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(json.load(sys.stdin)["verdict"]["rtmr_3"])')" "$PRED" "measure predicts RTMR3"

# --- a man in the middle: its own key, relaying the real evidence ----------------
proxy mitm
expect_rc 2 "$CCAI" attest "$PURL" --trust-simulated
PX_SPKI=$(openssl x509 -in "$TMP/px.crt" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
expect_contains "$OUT" "✗ tls_binding          expected the SPKI SHA-256 of the key this connection received ($PX_SPKI), found" "MITM key refused"
# a recorded answer replayed to a new nonce
$PY - "$MAIN_PORT" "$TMP/recorded" <<'EOF'
import base64, os, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
n = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode()
with socket.create_connection(('127.0.0.1', int(sys.argv[1]))) as s, ctx.wrap_socket(s) as t:
    t.sendall(f"GET /api/attestation?nonce={n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    out = b''
    while True:
        d = t.recv(65536)
        if not d: break
        out += d
open(sys.argv[2], 'wb').write(out)
EOF
proxy replay "$TMP/recorded"
expect_rc 2 "$CCAI" attest "$PURL" --trust-simulated
expect_contains "$OUT" "✗ nonce                expected our nonce" "replayed answer refused"
expect_rc 2 sh -c "echo 'a secret prompt' | '$CCAI' chat '$PURL' --trust-simulated"
expect_contains "$ERR" "not sending anything: nonce: expected our nonce" "chat refuses a replayed answer"
expect_eq "$(grep -c '/api/chat' "$PLOG")" "0" "nothing was sent to the replayer"

# a hostile error answer (not UTF-8, a terminal escape) still names the failed step
printf 'HTTP/1.1 500 Internal\r\nContent-Length: 11\r\nConnection: close\r\n\r\n\377\376\033[31mevil' > "$TMP/garbage"
proxy replay "$TMP/garbage"
expect_rc 2 "$CCAI" attest "$PURL" --trust-simulated
expect_contains "$OUT" "✗ evidence             GET /api/attestation?nonce=" "hostile answer: step kept"
expect_contains "$OUT" ": HTTP 500: ?? [31mevil" "hostile answer: sanitized detail"

# --- ccai chat sends nothing unless attestation passes ---------------------------
proxy mitm
expect_rc 2 sh -c "echo 'a secret prompt' | '$CCAI' chat '$PURL' --trust-simulated"
expect_contains "$ERR" "ccai chat: not sending anything: tls_binding" "chat refuses a MITM"
expect_eq "$(grep -c '/api/chat' "$PLOG")" "0" "nothing was sent through the MITM"
expect_rc 2 sh -c "echo 'a secret prompt' | '$CCAI' chat '$MAIN_URL'"
expect_contains "$ERR" "not sending anything: pck_chain: untrusted root" "chat refuses an untrusted root"
expect_rc 2 sh -c "echo 'hi' | '$CCAI' chat '$MAIN_URL' --trust-simulated --policy '$TMP/policy-bad.json'"
expect_contains "$ERR" "not sending anything: policy.model_sha256" "chat refuses a wrong model"
expect_eq "$(grep -c '/api/chat' "$TMP/main.access")" "0" "the server never received a chat"
# the explicit override sends, and warns with every message
expect_rc 0 sh -c "printf 'one\ntwo\n' | '$CCAI' chat '$PURL' --trust-simulated --send-without-verification --num-predict 8"
expect_eq "$(printf '%s' "$ERR" | grep -c 'WARNING: sending to a server that FAILED attestation')" "2" "a warning per message"
# after success it sends, pinned to the attested key
CHATS=$(grep -c '"path":"/api/chat","status":200' "$TMP/main.access")
expect_rc 0 sh -c "echo 'Once upon a time' | '$CCAI' chat '$MAIN_URL' --trust-simulated"
[ "${#OUT}" -ge 20 ] && pass || fail "chat answer: '$OUT'"
expect_contains "$ERR" "attested $MAIN_URL -- SIMULATED TEE: NOT confidential" "chat says simulated"
expect_eq "$(grep -c '"path":"/api/chat","status":200' "$TMP/main.access")" "$((CHATS + 1))" "the chat reached the server"
# a key change after attestation: the pinned request is refused, re-attestation fails
proxy switch 2
expect_rc 2 sh -c "echo 'a secret prompt' | '$CCAI' chat '$PURL' --trust-simulated --model x"
expect_contains "$ERR" "presented a TLS key other than the attested one" "pinned key refused"
expect_contains "$ERR" "attesting again" "re-attested"
expect_eq "$(grep -c '/api/chat' "$PLOG")" "0" "nothing was sent to the new key"

# --- a debug TD is refused ---------------------------------------------------------
serve debug --sim-debug
expect_rc 2 "$CCAI" attest "$URL" --trust-simulated
expect_contains "$OUT" "✗ policy.debug         debug: expected DEBUG clear, found DEBUG set" "debug TD"
expect_rc 2 sh -c "echo 'a secret prompt' | '$CCAI' chat '$URL' --trust-simulated"
expect_contains "$ERR" "not sending anything: policy.debug" "chat refuses a debug TD"
expect_eq "$(grep -c '/api/chat' "$TMP/debug.access")" "0" "the debug TD never received a chat"

# --- through the attestation service ----------------------------------------------
if "$CCAI" verifier --help >/dev/null 2>&1; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/v.key" -out "$TMP/v.crt" \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  verifier() {
    VPORT=$(free_port)
    "$CCAI" verifier --listen "127.0.0.1:$VPORT" --state-dir "$TMP/v-$1" --tls-cert "$TMP/v.crt" --tls-key "$TMP/v.key" \
      "${@:2}" >"$TMP/v-$1.log" 2>&1 &
    PIDS+=($!); disown $!
    VURL="https://127.0.0.1:$VPORT"
    wait_port "$VPORT" || fail "verifier $1 did not start: $(tail -2 "$TMP/v-$1.log")"
  }
  verifier trusting --trust-simulated
  expect_rc 0 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated
  expect_contains "$OUT" "✓ token                ES256 signature by $VURL verifies" "token verified"
  expect_contains "$OUT" "✓ token.nonce" "token nonce"
  expect_contains "$OUT" "✓ token.tls_spki" "token SPKI"
  expect_contains "$OUT" "PASS: verified, but the TEE is SIMULATED (tdx-sim): NOT confidential" "service pass"
  # the service's TLS is verified: an unknown CA is refused
  expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --trust-simulated
  expect_contains "$OUT" "✗ service" "service certificate not trusted"
  # a pinned key id that is not the service's
  expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --verifier-kid nope --trust-simulated
  expect_contains "$OUT" "(only the pinned key id is accepted)" "pinned kid"
  # the client still refuses simulated evidence the service accepted, unless told
  expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --verifier-ca "$TMP/v.crt"
  expect_contains "$OUT" "✗ simulated            expected a real TD, found tee tdx-sim" "client-side simulated check"
  # a man in the middle is caught through the token's binding too
  PORT=$MAIN_PORT; proxy mitm
  expect_rc 2 "$CCAI" attest "$PURL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated
  expect_contains "$OUT" "✗ tls_binding" "MITM via service"
  # a service that does not trust the simulated root says so in its token
  verifier strict
  expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated
  expect_contains "$OUT" "✗ token.policy" "service policy failure"
  # a JWKS over plain http (a jwks_uri from discovery) is never fetched:
  # the same signing key served by a --tls off twin of the service
  HPORT=$(free_port)
  verifier plainjwks --trust-simulated --issuer "http://127.0.0.1:$HPORT"
  "$CCAI" verifier --listen "127.0.0.1:$HPORT" --state-dir "$TMP/v-plainjwks" --tls off >"$TMP/v-plainjwks-http.log" 2>&1 &
  PIDS+=($!); disown $!
  wait_port "$HPORT" || fail "plain JWKS twin did not start"
  expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated
  expect_contains "$OUT" "✗ jwks                 http://127.0.0.1:$HPORT/jwks.json: Protocol \"http\" not supported" "JWKS over http refused"
  # the server does not choose the policy: one that adds "policy_ids" to its
  # evidence, naming a permissive policy of the service's, is appraised
  # against the service's default all the same (the client wraps the
  # evidence; a bare one would select "dev" and pass)
  mkdir -p "$TMP/vpol"
  printf '{"id":"dev","allow_simulated":true}' >"$TMP/vpol/dev.json"
  verifier policies --policy-dir "$TMP/vpol"
  serve lying --tls-cert "$TMP/px.crt" --tls-key "$TMP/px.key"
  proxy inject '{"policy_ids":["dev"],"strict":false}'
  expect_rc 2 "$CCAI" attest "$PURL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated
  expect_contains "$OUT" "✗ token.policy" "injected policy id ignored: the default policy fails"
  expect_contains "$OUT" "✗ token.policy         simulated: expected tdx, found no trusted root" \
    "the default policy's reason"
  printf '%s' "$(grep -h '"path":"/v1/attestation"' "$TMP/v-policies.log" | tail -1)" >"$TMP/vline"
  expect_eq "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1])).get("policy_id"))' "$TMP/vline")" \
    "default" "the service logged the default policy"
  # and the policy the client names is the one used
  expect_rc 0 "$CCAI" attest "$PURL" --verifier "$VURL" --verifier-ca "$TMP/v.crt" --trust-simulated --policy-id dev
  expect_contains "$OUT" "✓ token.policy_id" "the client's own policy choice"
  PORT=$MAIN_PORT
  # options that belong to local verification are refused with --verifier
  expect_rc 1 "$CCAI" attest "$MAIN_URL" --verifier "$VURL" --policy "$TMP/policy.json"
else
  echo "note: ccai verifier not built: service cases skipped"
fi

# --- a lying attestation service: the client checks the token itself ---------------
PORT=$MAIN_PORT
proxy service ok
expect_rc 0 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt" --policy-id prod
expect_contains "$OUT" "✓ token.policy_id" "honest fake service passes"
expect_contains "$OUT" "PASS: a genuine TD, bound to this TLS key; the policy passed, but it pins no server binary (binary_sha256): the TD may run any code" \
  "a pass whose policy pins no code says so"
proxy service pinned
expect_rc 0 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt" --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["pass"], d["code_pinned"])')" \
  "True True" "a policy that checked the binary pins the code"
expect_rc 0 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "PASS: a genuine TD, bound to this TLS key; the policy passed
" "and then the pass line has no caveat"
proxy service policy
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt" --policy-id prod
expect_contains "$OUT" "✗ token.policy_id      expected the policy we asked for, prod, found default" "policy id swapped"
proxy service report_data
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "✗ token.quote_report_data expected SHA-512(ccai-attest/1, our nonce, our key) " "report data not ours"
expect_contains "$OUT" ", found $(printf '00%.0s' $(seq 64))" "report data found"
proxy service iss
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "✗ token.iss            expected $PURL, found https://elsewhere.invalid" "issuer"
proxy service expired
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "✗ token                token: expired at" "expired token"
proxy service tee
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "expected tee tdx (or tdx-sim), found sgx" "a token for another TEE"
expect_contains "$OUT" "✗ token.tee" "the tee step fails"
proxy service unverified
expect_rc 2 "$CCAI" attest "$MAIN_URL" --verifier "$PURL" --verifier-ca "$TMP/px.crt"
expect_contains "$OUT" "✗ token.verified" "a token whose quote did not verify"
expect_contains "$OUT" "expected verified: true (every step of the quote's verification passed), found not true" \
  "the verified step's reason"

# --- usage ---------------------------------------------------------------------------
expect_rc 1 "$CCAI" attest
expect_rc 1 "$CCAI" attest "http://127.0.0.1:$MAIN_PORT"
expect_contains "$ERR" "expected an https:// server URL" "https required"
expect_rc 1 "$CCAI" attest "$MAIN_URL" --local --verifier https://127.0.0.1:1
expect_rc 2 "$CCAI" chat
finish
