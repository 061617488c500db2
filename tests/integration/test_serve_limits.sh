#!/usr/bin/env bash
# `ccai serve` out of file descriptors (docs/net.md "Limits"): with a low
# descriptor limit and more connections than it allows, the server pauses
# accepting instead of spinning on accept() and printing a warning a try; it
# says so once, stays cheap on the CPU, and answers again once the
# connections go.
. "$(dirname "$0")/lib.sh"

PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$CCAI" dev mkmodel --preset tiny-llama -o "$TMP/tiny.gguf" >/dev/null 2>&1 || { echo "FAIL: mkmodel"; exit 1; }
PORT=$(free_port)
( ulimit -n 64; exec "$CCAI" serve --model "$TMP/tiny.gguf" --tee sim --auth off --tls off \
    --listen "127.0.0.1:$PORT" --state-dir "$TMP/state" --threads 1 ) >"$TMP/out" 2>"$TMP/err" &
PID=$!
for _ in $(seq 1 200); do grep -q "listening on" "$TMP/err" 2>/dev/null && break; sleep 0.05; done
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/version")" "200" "answers first"

# 100 idle connections, held for 3 s, while the server's CPU time is read.
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
c0=$(cpu)
$PY - "$PORT" <<'PY'
import socket, sys, time
socks = []
for _ in range(100):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
time.sleep(3)
for s in socks:
    s.close()
PY
c1=$(cpu)
used=$(( (c1 - c0) * 1000 / HZ ))
[ "$used" -lt 1000 ] && pass || fail "the server used $used ms of CPU in 3 s out of descriptors (spinning on accept?)"
expect_eq "$(grep -c 'cannot accept connections' "$TMP/err")" "1" "said once"
expect_contains "$(cat "$TMP/err")" "cannot accept connections: Too many open files; pausing new ones for 1000 ms" "what it said"
# The connections are gone: after the pause it answers again.
ok=no
for _ in $(seq 1 30); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/version")" = 200 ] && { ok=yes; break; }
  sleep 0.2
done
expect_eq "$ok" "yes" "answers again once the connections went"
sigterm_stop "$PID"; PID=
finish
