#!/usr/bin/env bash
# `ccai verify` end to end: the real quote in and out of its collateral
# window, simulated evidence with and without --trust-simulated, policies,
# event logs, report data, exit codes (0 pass, 2 rejected, 1 usage, 3 no
# collateral).
. "$(dirname "$0")/lib.sh"

S="$TMP/state"
RD=$(printf 'ab%.0s' $(seq 64))
"$CCAI" quote --tee sim --state-dir "$S" --report-data "$RD" -o "$TMP/q" 2>/dev/null
"$CCAI" sim collateral --state-dir "$S" -o "$TMP/c.json"

# --- usage errors: exit 1 ---
expect_rc 1 "$CCAI" verify
expect_contains "$ERR" "missing the QUOTE file" "no quote"
expect_rc 1 "$CCAI" verify "$TMP/q"
expect_contains "$ERR" "no collateral" "no collateral given"
expect_rc 1 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --pcs http://127.0.0.1:9
expect_rc 1 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --at yesterday
expect_contains "$ERR" "RFC 3339" "bad --at"
expect_rc 1 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --report-data abcd
expect_rc 1 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --bogus

# --- simulated evidence ---
expect_rc 0 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --trust-simulated
expect_contains "$OUT" "tdx-sim" "sim verified"
expect_contains "$OUT" "UpToDate" "sim TCB status"
expect_contains "$OUT" "PASS" "sim pass line"
expect_rc 2 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json"
expect_contains "$OUT" "untrusted root" "sim without --trust-simulated"
expect_rc 0 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --trust-simulated --report-data "$RD"
expect_rc 2 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --trust-simulated --report-data "$(printf 'cd%.0s' $(seq 64))"
expect_contains "$OUT" "report_data: expected" "report data mismatch"
expect_rc 0 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --trust-simulated --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["tee"], j["tcb_status"], j["pass"], j["report_data"]==sys.argv[1], j["policy"]["pass"])' "$RD")" \
  "tdx-sim UpToDate True True True" "verify --json"
# the default policy refuses a debug TD
"$CCAI" quote --tee sim --state-dir "$S" --debug -o "$TMP/qd" 2>/dev/null
expect_rc 2 "$CCAI" verify "$TMP/qd" --collateral "$TMP/c.json" --trust-simulated
expect_contains "$OUT" "debug" "debug TD rejected"
# collateral dated in the future relative to --at, and expired
expect_rc 2 "$CCAI" verify "$TMP/q" --collateral "$TMP/c.json" --trust-simulated --at 2099-01-01T00:00:00Z
expect_contains "$OUT" "expired" "expired sim collateral"
# a flipped byte of the signed region
$PY - "$TMP/q" "$TMP/qt" <<'PY'
import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[48 + 136] ^= 1; open(sys.argv[2], 'wb').write(b)
PY
expect_rc 2 "$CCAI" verify "$TMP/qt" --collateral "$TMP/c.json" --trust-simulated
expect_contains "$OUT" "quote_signature" "tampered quote"
# collateral that does not parse → 3
printf '{"tcb_info": 1}' > "$TMP/bad.json"
expect_rc 3 "$CCAI" verify "$TMP/q" --collateral "$TMP/bad.json" --trust-simulated
# offline PCS with an empty cache → 3, and no network
expect_rc 3 "$CCAI" verify "$TMP/q" --pcs http://127.0.0.1:9 --offline --cache-dir "$TMP/cache" --trust-simulated
expect_contains "$ERR" "offline" "offline cache miss"

# --- runtime event log: RTMR3 replays when a log is given ---
"$CCAI" measure extend --tee sim --state-dir "$S" --type ccai.model --data '{"name":"m","sha256":"'"$(printf '1%.0s' $(seq 64))"'"}' >/dev/null
"$CCAI" quote --tee sim --state-dir "$S" -o "$TMP/q3" 2>/dev/null
"$CCAI" eventlog show --tee sim --state-dir "$S" --json > "$TMP/ev.json"
$PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["events"]))' "$TMP/ev.json" > "$TMP/events.json"
# no log: the default policy names no digests, so it passes without appraising RTMR3
expect_rc 0 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated
expect_not_contains "$OUT" "runtime_replay" "no replay step without a log"
# a policy that requires the log fails closed without it
printf '{"id":"log","require_runtime_log":true}' > "$TMP/p-log.json"
expect_rc 2 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated --policy "$TMP/p-log.json"
expect_contains "$OUT" "runtime_log: expected a runtime log that replays to RTMR3, found no runtime log" "RTMR3 without its log"
# and so does a policy naming the model digest
printf '{"id":"t","allow_simulated":true,"model_sha256":["%s"]}' "$(printf '1%.0s' $(seq 64))" > "$TMP/p-nolog.json"
expect_rc 2 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --policy "$TMP/p-nolog.json"
expect_contains "$OUT" "model_sha256" "model digest without a log"
expect_rc 0 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated --event-log "$TMP/events.json"
expect_rc 0 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated --event-log "$S/sim/eventlog.jsonl"
# a policy naming the model digest passes; another digest fails, naming the check
printf '{"id":"t","allow_simulated":true,"model_sha256":["%s"]}' "$(printf '1%.0s' $(seq 64))" > "$TMP/p-ok.json"
printf '{"id":"t","allow_simulated":true,"model_sha256":["%s"]}' "$(printf '2%.0s' $(seq 64))" > "$TMP/p-bad.json"
expect_rc 0 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --policy "$TMP/p-ok.json" --event-log "$TMP/events.json"
expect_rc 2 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --policy "$TMP/p-bad.json" --event-log "$TMP/events.json"
expect_contains "$OUT" "model_sha256: expected" "model digest not in the policy"
printf '{"id":"t","no_such_member":1}' > "$TMP/p-typo.json"
expect_rc 1 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --policy "$TMP/p-typo.json"
expect_contains "$ERR" "no_such_member" "unknown policy member"
# an event changed after the fact
sed 's/1111/1112/' "$TMP/events.json" > "$TMP/events-bad.json"
expect_rc 2 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated --event-log "$TMP/events-bad.json"

# --- firmware event log ---
expect_rc 0 "$CCAI" verify "$TMP/q3" --collateral "$TMP/c.json" --trust-simulated --event-log "$TMP/events.json" --ccel "$S/sim/ccel.bin"
expect_contains "$OUT" "ccel_replay" "CCEL replayed"

# --- the real quote ---
if have_shared; then
  R="$SHARED/testdata/tdx/real-v4-uptodate"
  expect_rc 0 "$CCAI" verify "$R/quote.bin" --collateral "$R/collateral.json" --at 2025-07-01T00:00:00Z
  expect_contains "$OUT" "UpToDate" "real quote UpToDate"
  expect_contains "$OUT" "tee: tdx" "real quote is tdx"
  expect_rc 2 "$CCAI" verify "$R/quote.bin" --collateral "$R/collateral.json" --at 2026-11-25T00:00:00Z
  expect_contains "$OUT" "collateral expired" "real quote today"
  expect_rc 0 "$CCAI" verify "$R/quote.bin" --collateral "$R/collateral.json" --at 2025-07-01T00:00:00Z --json
  expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["tee"], j["tcb_status"], j["fmspc"], j["tcb_date"])')" \
    "tdx UpToDate b0c06f000000 2024-03-13T00:00:00Z" "real quote JSON"
else
  echo "skipped: real quote checks (../shared absent)"
fi
finish
