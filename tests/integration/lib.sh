# Helpers for the integration tests: each test is a bash script that gets the
# ccai binary as $1, runs it for real, and checks exact outputs and exit codes.
set -u
CCAI=${1:?usage: $0 CCAI_BINARY}
SHARED=${CCAI_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ccai-it-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }

# expect_rc WANT CMD...: runs CMD, keeps stdout in $OUT and stderr in $ERR.
expect_rc() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  if [ "$rc" -ne "$want" ]; then fail "exit $rc (want $want): $*"; echo "  stderr: $(head -c 400 "$TMP/err")"; return 1; fi
  pass
}
# expect_contains HAYSTACK NEEDLE WHAT
expect_contains() {
  if printf '%s' "$1" | grep -qF -- "$2"; then pass; else fail "$3: lacks '$2'"; echo "  got: $(printf '%s' "$1" | head -c 600)"; fi
}
# expect_not_contains HAYSTACK NEEDLE WHAT
expect_not_contains() {
  if printf '%s' "$1" | grep -qF -- "$2"; then fail "$3: has '$2'"; else pass; fi
}
expect_eq() {
  if [ "$1" = "$2" ]; then pass; else fail "$3: got '$1', want '$2'"; fi
}
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures of $((checks + failures)) checks failed"; exit 1; fi
  echo "all $checks checks passed"; exit 0
}
# sigterm_stop PID: SIGTERM must end this shell's child PID with exit 0
# within 5 s. (Polls for the zombie rather than arming a watchdog that could
# outlive the PID.)
sigterm_stop() {
  local pid=$1 t0 n=0 rc
  t0=$(date +%s%N)
  kill -TERM "$pid"
  while [ $n -lt 100 ] && [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; do
    sleep 0.05; n=$((n + 1))
  done
  [ $n -ge 100 ] && kill -9 "$pid"
  wait "$pid"; rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  expect_eq "$rc" "0" "exit status after SIGTERM"
  [ "$ms" -lt 5000 ] && pass || fail "SIGTERM took $ms ms"
}
have_shared() { [ -f "$SHARED/testdata/tdx/real-v4-uptodate/quote.bin" ]; }
PY=/usr/bin/python3
