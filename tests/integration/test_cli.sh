#!/usr/bin/env bash
# The ccai command line: help, version, exit codes for unknown commands and
# options, and the evidence commands end to end on the simulated TD.
. "$(dirname "$0")/lib.sh"

# --- help, version, usage errors (exit 2, one line) ---
expect_rc 0 "$CCAI" help && expect_contains "$OUT" "quote" "ccai help"
expect_rc 0 "$CCAI" --help
expect_rc 0 "$CCAI" version && expect_contains "$OUT" "ccai 0." "ccai version"
expect_contains "$OUT" "commit" "ccai version names the commit"
expect_contains "$OUT" "build" "ccai version names the build type"
expect_rc 2 "$CCAI" no-such-command
expect_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "unknown command message is one line"
expect_contains "$ERR" "unknown command 'no-such-command'" "unknown command message"
expect_rc 2 "$CCAI"
for cmd in quote sim eventlog measure version help; do
  expect_rc 0 "$CCAI" $cmd --help && expect_contains "$OUT" "usage: ccai $cmd" "$cmd --help"
  expect_rc 0 "$CCAI" help $cmd
done
expect_rc 2 "$CCAI" quote --no-such-flag
expect_eq "$ERR" "ccai quote: unknown option '--no-such-flag' (see 'ccai quote --help')" "unknown flag message"
expect_rc 2 "$CCAI" quote -Z
expect_contains "$ERR" "unknown option '-Z'" "unknown short flag"
expect_rc 2 "$CCAI" quote --report-data
expect_contains "$ERR" "needs a value" "missing option value"
expect_rc 2 "$CCAI" quote --tee sim --report-data zz
expect_rc 2 "$CCAI" quote --tee sim --report-data "$(printf 'ab%.0s' $(seq 65))"
expect_contains "$ERR" "expected 1 to 64 bytes, found 65" "report data too long"
expect_rc 2 "$CCAI" quote --tee sim --nonce AAAA
expect_contains "$ERR" "expected 32 bytes, found 3" "short nonce"
expect_rc 2 "$CCAI" quote --tee bogus
expect_contains "$ERR" "--tee must be auto, tdx or sim" "bad --tee"
expect_rc 2 "$CCAI" sim frobnicate
expect_rc 2 "$CCAI" eventlog
expect_rc 2 "$CCAI" measure extend --type ccai.x
expect_rc 2 "$CCAI" version extra

# --- auto provider without TDX: a clear error naming --tee sim ---
expect_rc 1 "$CCAI" quote --tsm-root "$TMP/none" --state-dir "$TMP/s" -o "$TMP/q0"
expect_contains "$ERR" "--tee sim" "auto without TDX"

# --- simulated quote: write, show every field ---
S="$TMP/state"
RD=$(printf 'ab%.0s' $(seq 64))
expect_rc 0 "$CCAI" quote --tee sim --state-dir "$S" --report-data "$RD" -o "$TMP/q"
expect_contains "$ERR" "not confidential" "sim quote warns"
expect_rc 0 "$CCAI" quote show "$TMP/q"
for f in mr_td rtmr_0 rtmr_1 rtmr_2 rtmr_3 mr_seam seam_attributes td_attributes xfam report_data \
         tee_tcb_svn mr_config_id mr_owner mr_owner_config SEPT_VE_DISABLE mrsigner isvprodid fmspc 00cca1000000; do
  expect_contains "$OUT" "$f" "quote show"
done
expect_contains "$OUT" "$RD" "quote show prints the report data given"
expect_rc 0 "$CCAI" quote show --json "$TMP/q"
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["body"]["report_data"], j["header"]["version"], j["pck"]["fmspc"])')" \
  "$RD 4 00cca1000000" "quote show --json fields"
# hex and base64 text forms of the same quote
xxd -p "$TMP/q" > "$TMP/q.hex"; base64 -w0 "$TMP/q" > "$TMP/q.b64"
expect_rc 0 "$CCAI" quote show "$TMP/q.hex" && expect_contains "$OUT" "$RD" "hex quote file"
expect_rc 0 "$CCAI" quote show "$TMP/q.b64" && expect_contains "$OUT" "$RD" "base64 quote file"
# a debug TD for negative tests
expect_rc 0 "$CCAI" quote --tee sim --state-dir "$S" --debug -o "$TMP/qd"
expect_rc 0 "$CCAI" quote show "$TMP/qd" && expect_contains "$OUT" "DEBUG" "debug TD"

# --- nonce binding (ccai-attest/1) checked with an independent implementation ---
NONCE=$($PY -c 'import base64,os;print(base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode())')
SPKI=$(printf '11%.0s' $(seq 32))
expect_rc 0 "$CCAI" quote --tee sim --state-dir "$S" --nonce "$NONCE" --tls-spki-sha256 "$SPKI" -o "$TMP/qn"
WANT=$($PY -c 'import hashlib;print(hashlib.sha512(b"ccai-attest/1\x00"+bytes(range(32))+bytes([0x11])*32+bytes(32)).hexdigest())')
expect_rc 0 "$CCAI" quote show "$TMP/qn" && expect_contains "$OUT" "$WANT" "nonce binding"

# --- bad input: a clear error, exit 1, never a crash ---
head -c 700 "$TMP/q" > "$TMP/trunc"
expect_rc 1 "$CCAI" quote show "$TMP/trunc" && expect_contains "$ERR" "offset" "truncated quote names the offset"
printf 'hello world' > "$TMP/garbage"
expect_rc 1 "$CCAI" quote show "$TMP/garbage"
expect_rc 1 "$CCAI" quote show "$TMP/does-not-exist" && expect_contains "$ERR" "No such file" "missing file"
: > "$TMP/empty"
expect_rc 1 "$CCAI" quote show "$TMP/empty" && expect_contains "$ERR" "empty" "empty file"

# --- measured events, replay, persistence across processes, reboot ---
expect_rc 0 "$CCAI" eventlog show --tee sim --state-dir "$S" && expect_contains "$OUT" "empty" "fresh log"
expect_rc 0 "$CCAI" measure extend --tee sim --state-dir "$S" --type ccai.test --data '{"b":"x","a":1}'
expect_contains "$OUT" 'event  {"data":{"a":1,"b":"x"},"type":"ccai.test"}' "canonical event"
D1=$($PY -c 'import hashlib;print(hashlib.sha384(b"{\"data\":{\"a\":1,\"b\":\"x\"},\"type\":\"ccai.test\"}").hexdigest())')
expect_contains "$OUT" "digest $D1" "event digest"
R1=$($PY -c "import hashlib;print(hashlib.sha384(bytes(48)+bytes.fromhex('$D1')).hexdigest())")
expect_contains "$OUT" "rtmr_3 $R1" "RTMR3 after one extend"
expect_rc 0 "$CCAI" measure extend --tee sim --state-dir "$S" --type ccai.test --data '{"n":2}'
expect_rc 0 "$CCAI" eventlog replay --tee sim --state-dir "$S" && expect_contains "$OUT" "RTMR3 matches" "replay"
expect_rc 0 "$CCAI" eventlog show --tee sim --state-dir "$S" --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')" "2" "two events"
expect_rc 0 "$CCAI" quote --tee sim --state-dir "$S" -o "$TMP/q2"
R2=$($PY -c "import hashlib;print(hashlib.sha384(bytes.fromhex('$R1')+hashlib.sha384(b'{\"data\":{\"n\":2},\"type\":\"ccai.test\"}').digest()).hexdigest())")
expect_rc 0 "$CCAI" quote show "$TMP/q2" && expect_contains "$OUT" "$R2" "quote carries RTMR3 after two extends"
expect_rc 1 "$CCAI" measure extend --tee sim --state-dir "$S" --type ccai.test --data '{"x":1.5}'
expect_rc 1 "$CCAI" measure extend --tee sim --state-dir "$S" --type other --data '{}'
expect_rc 0 "$CCAI" sim reset --state-dir "$S"
expect_rc 0 "$CCAI" eventlog show --tee sim --state-dir "$S" && expect_contains "$OUT" "empty" "log after reset"
expect_rc 0 "$CCAI" sim info --state-dir "$S" --json
expect_eq "$(printf '%s' "$OUT" | $PY -c 'import json,sys; print(json.load(sys.stdin)["rtmr_3"])')" "$(printf '0%.0s' $(seq 96))" "RTMR3 zero after reset"

# --- firmware event log of the simulated TD replays to RTMR0..2 ---
expect_rc 0 "$CCAI" eventlog show --firmware --tee sim --state-dir "$S" && expect_contains "$OUT" "EV_IPL" "firmware log"
expect_rc 0 "$CCAI" eventlog replay --firmware --tee sim --state-dir "$S"
expect_contains "$OUT" "RTMR0 matches" "RTMR0 replay"; expect_contains "$OUT" "RTMR2 matches" "RTMR2 replay"

# --- collateral bundle ---
expect_rc 0 "$CCAI" sim collateral --state-dir "$S" --at 2026-01-01T00:00:00Z -o "$TMP/c.json"
expect_eq "$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(sorted(c), json.loads(c["tcb_info"])["nextUpdate"])' "$TMP/c.json")" \
  "['pck_crl', 'pck_crl_issuer_chain', 'qe_identity', 'qe_identity_issuer_chain', 'qe_identity_signature', 'root_ca_crl', 'tcb_info', 'tcb_info_issuer_chain', 'tcb_info_signature'] 2026-01-31T00:00:00Z" "collateral fields"

# --- the real quote (shared test data) ---
if have_shared; then
  expect_rc 0 "$CCAI" quote show "$SHARED/testdata/tdx/real-v4-uptodate/quote.bin"
  expect_contains "$OUT" "b0c06f000000" "real quote FMSPC"
  expect_contains "$OUT" "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3" "real quote root hash"
  expect_contains "$OUT" "trailing" "real quote trailing bytes reported"
else
  echo "skipped: real quote checks (../shared absent)"
fi
finish
