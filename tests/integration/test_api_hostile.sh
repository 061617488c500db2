#!/usr/bin/env bash
# Hostile requests against every route of `ccai serve` (docs/serve.md
# "Hostile-request test"): a server with accounts on, a generated tiny model
# and the simulated TD on a free loopback port; hostile.py sends a fixed-seed
# set of malformed, mistyped, oversized, deeply nested, mis-encoded and
# mis-authenticated requests to each route and checks every reply (one comes;
# 2xx/4xx, 429/503 only where documented, never another 5xx; JSON errors in
# the route's shape). Then: no prompt marker in anything the server wrote,
# one good generation still answers, SIGTERM exits 0 within 5 s, and no
# sanitizer report. Never ../shared; never any address but 127.0.0.1: the
# model-store routes see a registry, a Hugging Face endpoint and proxies that
# are a closed loopback port, and hostile.py sends them no URL.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${CCAI_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PW='hostile test admin password'
MARK=ccaiHostileMarker5f1c0e9a # in every prompt and message hostile.py sends

PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$CCAI" dev mkmodel --preset tiny-llama -o "$TMP/tiny.gguf" >/dev/null 2>&1 || { echo "FAIL: mkmodel"; exit 1; }

# start_server: as test_serve_trust.sh's, with everything the server may
# write kept under $TMP (state, model store, HOME) and every way out of the
# machine pointed at a port where nothing listens.
start_server() {
  local dead; dead=$(free_port)
  PORT=$(free_port); BASE="https://127.0.0.1:$PORT"; LOG="$TMP/serve.err"
  mkdir -p "$TMP/home" "$TMP/store"
  env CCAI_ADMIN_PASSWORD="$PW" HOME="$TMP/home" CCAI_MODELS="$TMP/store" \
    CCAI_REGISTRY="http://127.0.0.1:$dead" CCAI_HF_ENDPOINT="http://127.0.0.1:$dead" \
    http_proxy="http://127.0.0.1:$dead" https_proxy="http://127.0.0.1:$dead" \
    HTTPS_PROXY="http://127.0.0.1:$dead" ALL_PROXY="http://127.0.0.1:$dead" \
    all_proxy="http://127.0.0.1:$dead" no_proxy= NO_PROXY= \
    "$CCAI" serve --model "$TMP/tiny.gguf" --tee sim --listen "127.0.0.1:$PORT" \
    --state-dir "$TMP/state" --threads 1 --queue 4 --max-tokens 16 --max-body 262144 \
    --access-log "$TMP/access.log" >"$TMP/serve.out" 2>"$LOG" &
  PID=$!
  for _ in $(seq 1 400); do
    grep -q "listening on" "$LOG" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "the server did not start: $(tail -3 "$LOG")"; return 1
}

# stop_server: SIGTERM must end it with exit 0 within 5 s (lib.sh).
stop_server() { sigterm_stop "$PID"; PID=; }

http() {
  local m=$1 p=$2; shift 2
  CODE=$(curl -sk --max-time 60 -X "$m" -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' "$@" "$BASE$p")
  BODY=$(cat "$TMP/body")
}
jget() { printf '%s' "$BODY" | $PY -c "import json,sys; v=json.load(sys.stdin)$1; print(v if isinstance(v, str) else json.dumps(v))"; }

start_server || finish

# --- accounts: an admin session, a user with a key, the admin's key, a victim ---
http POST /api/login -d "{\"username\":\"admin\",\"password\":\"$PW\"}"
expect_eq "$CODE" 200 "admin login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: ccai_session=\([^;]*\).*/\1/p' "$TMP/hdrs")
expect_eq "${#COOKIE}" 43 "session token"
for u in alice victim; do
  http POST /api/admin/users -H "Cookie: ccai_session=$COOKIE" -d "{\"name\":\"$u\",\"password\":\"$u password\"}"
  expect_eq "$CODE" 201 "create $u"
done
http POST /api/admin/keys -H "Cookie: ccai_session=$COOKIE" -d '{"user":"alice","label":"hostile"}'
expect_eq "$CODE" 201 "alice's key"
USER_KEY=$(jget '["key"]'); USER_KID=$(jget '["id"]')
http POST /api/admin/keys -H "Cookie: ccai_session=$COOKIE" -d '{"label":"hostile"}'
expect_eq "$CODE" 201 "the admin's key"
ADMIN_KEY=$(jget '["key"]'); ADMIN_KID=$(jget '["id"]')

# --- the hostile requests ---
FINDINGS=${HOSTILE_FINDINGS:-$(cd "$(dirname "$CCAI")" && pwd)/hostile-findings}
rm -rf "$FINDINGS"; mkdir -p "$FINDINGS"
HOSTILE_PORT=$PORT HOSTILE_SRC="$SRC" HOSTILE_MARK=$MARK HOSTILE_MAX_BODY=262144 \
  HOSTILE_ADMIN_KEY=$ADMIN_KEY HOSTILE_USER_KEY=$USER_KEY HOSTILE_COOKIE=$COOKIE \
  HOSTILE_KEEP="admin alice $USER_KID $ADMIN_KID" HOSTILE_FINDINGS="$FINDINGS" \
  $PY "$HERE/hostile.py" >"$TMP/hostile.out" 2>&1
rc=$?
cat "$TMP/hostile.out"
if [ $rc -eq 0 ]; then pass; rm -rf "$FINDINGS"; else fail "hostile requests (reproducers in $FINDINGS)"; fi

# --- still serving: a greedy generation answers with text ---
http POST /api/generate -H "Authorization: Bearer $USER_KEY" \
  -d "{\"model\":\"tiny\",\"prompt\":\"$MARK still there?\",\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":8}}"
expect_eq "$CODE" 200 "a valid /api/generate after the hostile requests"
RESP=$(jget '["response"]' 2>/dev/null)
[ -n "$RESP" ] && pass || fail "empty response after the hostile requests: $BODY"
expect_eq "$(jget '["done"]')" "true" "generation done"

stop_server

# --- no prompt text in anything the server wrote ---
HITS=$(grep -rlaF "$MARK" "$TMP/state" "$TMP/store" "$TMP/home" "$TMP/serve.out" "$TMP/serve.err" "$TMP/access.log" 2>/dev/null)
[ -z "$HITS" ] && pass || fail "the prompt marker was written to: $HITS"
[ -s "$TMP/access.log" ] && pass || fail "the access log is empty"
# --- no sanitizer report (the CI runs this under ASan+UBSan too) ---
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$TMP/serve.err"; then
  fail "sanitizer report in the server's stderr:"
  grep -E -A30 "AddressSanitizer|LeakSanitizer|runtime error" "$TMP/serve.err" | head -60
else
  pass
fi
finish
