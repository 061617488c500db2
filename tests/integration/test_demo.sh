#!/usr/bin/env bash
# `make demo` (scripts/demo.sh) end to end: it starts the server, the
# attestation service and the UI on loopback, attests; this test waits for
# "ready", attests through the service and chats once with the printed API
# key, then stops the demo with SIGINT (Ctrl-C) and checks that everything
# exited and the ports are closed.
. "$(dirname "$0")/lib.sh"
SRC=${CCAI_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
# Without ../shared the demo falls back to the model the build generated.
# A background job of a script starts with SIGINT ignored (and bash cannot
# trap a signal ignored on entry): restore it, as a terminal's Ctrl-C finds it.
DEMO_DIR="$TMP/demo" DEMO_PORT=$P1 VERIFIER_PORT=$P2 $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  bash "$SRC/scripts/demo.sh" "$CCAI" >"$TMP/out" 2>&1 &
DPID=$!
trap 'kill -9 $DPID 2>/dev/null; pkill -9 -f "$TMP/demo" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 600); do grep -q "Press Ctrl-C to stop" "$TMP/out" && break; kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
OUTPUT=$(cat "$TMP/out")
expect_contains "$OUTPUT" "Press Ctrl-C to stop." "demo ready"
expect_eq "$(printf '%s\n' "$OUTPUT" | grep -c 'PASS: verified, but the TEE is SIMULATED (tdx-sim): NOT confidential')" "2" "demo attests locally and through the service (amber)"
URL="https://127.0.0.1:$P1"
expect_contains "$OUTPUT" "web UI         $URL   (log in as admin / " "URL and login printed"
KEY=$(printf '%s\n' "$OUTPUT" | sed -n 's/^  API key        //p')
expect_rc 0 "$CCAI" attest "$URL" --verifier "https://127.0.0.1:$P2" --verifier-ca "$TMP/demo/verifier.crt" --trust-simulated
expect_rc 0 sh -c "echo 'Once upon a time' | CCAI_API_KEY='$KEY' '$CCAI' chat '$URL' --trust-simulated --num-predict 16"
[ -n "$OUT" ] && pass || fail "the chat answered nothing"
# the UI is there
expect_rc 0 curl -sk -o "$TMP/index.html" -w '%{http_code}' "$URL/"
expect_eq "$OUT" "200" "GET / of the demo"
expect_contains "$(cat "$TMP/index.html")" "<html" "the UI page"
# Ctrl-C stops everything
kill -INT $DPID
for _ in $(seq 1 100); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
wait $DPID; rc=$?
expect_eq "$rc" "0" "the demo exits 0 on Ctrl-C"
expect_contains "$(tr -d "\\000" < "$TMP/out")" "demo: stopped" "stopped message"
for p in $P1 $P2; do
  $PY -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $p)); s.listen(1)" 2>/dev/null && pass || fail "port $p still in use"
done
finish
