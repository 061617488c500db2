#!/usr/bin/env bash
# `ccai verifier` end to end (docs/verifier.md): evidence from a running
# `ccai serve --tee sim` goes to the attestation service; its tokens are
# checked by an independent ES256 implementation (verifier_check.py, python
# cryptography) against the JWKS it serves, and their claims equal
# `ccai verify --json` for the same evidence. Then: the untrusted simulated
# root, tampered evidence, report data binding, policies by id, the
# Alibaba/Trustee request form, strict mode, CORS, rate limit, body limit,
# discovery, key rotation and a clean SIGTERM.
. "$(dirname "$0")/lib.sh"

M="$SHARED/models/stories260K.gguf"
[ -f "$M" ] || { echo "skipped: shared test data absent ($M)"; exit 77; }
CHK="$(dirname "$0")/verifier_check.py"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_log LOG PID: until the process logs "listening on".
wait_log() {
  for _ in $(seq 1 200); do
    grep -q "listening on" "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  fail "did not start: $(tail -3 "$1")"; return 1
}
# start_verifier NAME ARGS...: sets VPORT, VPID, VLOG.
start_verifier() {
  local name=$1; shift
  VPORT=$(free_port); VLOG="$TMP/$name.log"
  "$CCAI" verifier --listen "127.0.0.1:$VPORT" "$@" 2>"$VLOG" &
  VPID=$!; PIDS+=("$VPID")
  wait_log "$VLOG" "$VPID"
}
stop_verifier() {
  kill -TERM "$1"; local rc n=0
  while [ $n -lt 100 ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ] && [ -e "/proc/$1" ]; do sleep 0.05; n=$((n + 1)); done
  wait "$1"; rc=$?
  expect_eq "$rc" "0" "verifier exit status after SIGTERM"
}
# post PORT PATH BODY_FILE [curl args...]: sets CODE, BODY, HDRS.
post() {
  local port=$1 path=$2 file=$3; shift 3
  CODE=$(curl -sk -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' -H 'content-type: application/json' \
         --data-binary "@$file" "$@" "https://127.0.0.1:$port$path")
  BODY=$(cat "$TMP/body"); HDRS=$(tr 'A-Z' 'a-z' < "$TMP/hdrs")
}
getj() {
  CODE=$(curl -sk -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' "$@")
  BODY=$(cat "$TMP/body"); HDRS=$(tr 'A-Z' 'a-z' < "$TMP/hdrs")
}
# jq-like: jv FILE EXPR -> python expression on the JSON in FILE as `j`
jv() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); v=$2; print(v if isinstance(v, str) else json.dumps(v))" "$1"; }
# token NAME: checks the token in $TMP/body independently; claims -> $TMP/NAME.claims
token() {
  cp "$TMP/body" "$TMP/$1.resp"
  if $PY "$CHK" token "$VPORT" "$TMP/$1.resp" "$TMP/$1.jwks" >"$TMP/$1.claims" 2>"$TMP/$1.err"; then pass
  else fail "$1: token check: $(tail -2 "$TMP/$1.err")"; fi
}

# ---- the server and the evidence -------------------------------------------------
SPORT=$(free_port)
"$CCAI" serve --model "$M" --tee sim --auth off --listen "127.0.0.1:$SPORT" --state-dir "$TMP/s" \
  >"$TMP/serve.out" 2>"$TMP/serve.log" &
SPID=$!; PIDS+=("$SPID")
wait_log "$TMP/serve.log" "$SPID" || finish
$PY "$CHK" evidence "$SPORT" "$TMP/ev.json" && pass || fail "fetching evidence"
mkdir -p "$TMP/split" && $PY "$CHK" split "$TMP/ev.json" "$TMP/split" && pass || fail "split"
NONCE=$(jv "$TMP/ev.json" "j['nonce']"); SPKI=$(jv "$TMP/ev.json" "j['tls_spki_sha256']")
MODEL_SHA=$(sha256sum "$M" | cut -c1-64)

mkdir -p "$TMP/pol"
printf '{"id": "sim-model", "allow_simulated": true, "model_sha256": ["%s"]}\n' "$MODEL_SHA" >"$TMP/pol/sim-model.json"
printf '{"allow_simulated": true, "model_sha256": ["%s"]}\n' "$(printf '0%.0s' $(seq 64))" >"$TMP/pol/other-model.json"

# ---- trusting verifier: a passing token, checked independently ----------------------
start_verifier trusting --state-dir "$TMP/v" --trust-simulated --policy-dir "$TMP/pol" \
  --cors-origin https://ui.example:8443 || finish
post "$VPORT" /v1/attestation "$TMP/ev.json"
expect_eq "$CODE" "200" "attestation status"
expect_contains "$HDRS" "content-type: application/json" "attestation content type"
token t1
C="$TMP/t1.claims"
expect_eq "$(jv "$C" "j['claims']['tee']")" "tdx-sim" "tee claim"
expect_eq "$(jv "$C" "j['claims']['pass']")" "true" "pass claim"
expect_eq "$(jv "$C" "j['claims']['policy']['policy_id']")" "default" "default policy"
expect_eq "$(jv "$C" "j['claims']['iss']")" "https://127.0.0.1:$VPORT" "iss"
expect_eq "$(jv "$C" "j['claims']['exp'] - j['claims']['iat']")" "300" "token lifetime"
expect_eq "$(jv "$C" "j['claims']['nbf'] == j['claims']['iat']")" "true" "nbf"
expect_eq "$(jv "$C" "len(j['claims']['jti']) == 32 and int(j['claims']['jti'], 16) >= 0")" "true" "jti"
expect_eq "$(jv "$C" "j['claims']['binding']")" \
  "{\"nonce\": \"$NONCE\", \"tls_spki_sha256\": \"$SPKI\", \"e2e_key_sha256\": null, \"report_data_ok\": true}" "binding"
expect_eq "$(jv "$C" "j['claims']['report_data']")" "$(cat "$TMP/split/rd.hex")" "report data recomputed independently"
expect_eq "$(jv "$C" "j['claims']['events']['models'][0]['sha256']")" "$MODEL_SHA" "model event"
expect_eq "$(jv "$C" "[c['ok'] for c in j['claims']['policy']['checks'] if c['name'] == 'report_data']")" "[true]" "report_data check"
KID1=$(jv "$C" "j['kid']")

# the same evidence through `ccai verify --json`
"$CCAI" verify "$TMP/split/quote.bin" --collateral "$TMP/split/coll.json" --event-log "$TMP/ev.json" \
  --ccel "$TMP/split/ccel.bin" --report-data "$(cat "$TMP/split/rd.hex")" --trust-simulated --json \
  >"$TMP/verify.json" 2>"$TMP/verify.err"
expect_eq "$?" "0" "ccai verify exit status"
if $PY "$CHK" compare "$C" "$TMP/verify.json" >"$TMP/cmp.out" 2>&1; then pass; else fail "claims != ccai verify --json: $(cat "$TMP/cmp.out")"; fi

# a request with an allowed Origin gets it echoed
post "$VPORT" /v1/attestation "$TMP/ev.json" -H 'Origin: https://ui.example:8443'
expect_contains "$HDRS" "access-control-allow-origin: https://ui.example:8443" "CORS on POST"
post "$VPORT" /v1/attestation "$TMP/ev.json" -H 'Origin: https://evil.example'
if printf '%s' "$HDRS" | grep -q "access-control-allow-origin"; then fail "CORS header for a disallowed origin"; else pass; fi

# ---- tampered evidence and binding ---------------------------------------------------
$PY "$CHK" tamper "$TMP/ev.json" quote >"$TMP/tq.json"
post "$VPORT" /v1/attestation "$TMP/tq.json"
expect_eq "$CODE" "200" "tampered quote still answered with a token"
token t2
expect_eq "$(jv "$TMP/t2.claims" "j['claims']['pass']")" "false" "tampered quote fails"
expect_eq "$(jv "$TMP/t2.claims" "[s['name'] for s in j['claims']['steps'] if not s['ok']]")" '["quote_signature"]' "failed step"
expect_contains "$(jv "$TMP/t2.claims" "[f['reason'] for f in j['claims']['policy']['failed'] if f['name'] == 'verified']")" "quote" "tampered reason"
$PY "$CHK" tamper "$TMP/ev.json" nonce >"$TMP/tn.json"
post "$VPORT" /v1/attestation "$TMP/tn.json"
token t3
expect_eq "$(jv "$TMP/t3.claims" "j['claims']['pass']")" "false" "other nonce fails"
expect_eq "$(jv "$TMP/t3.claims" "j['claims']['binding']['report_data_ok']")" "false" "binding mismatch"
expect_eq "$(jv "$TMP/t3.claims" "[f['name'] for f in j['claims']['policy']['failed']]")" '["report_data"]' "only report_data fails"

# forged collateral attached to the evidence fails like any other
$PY "$CHK" tamper "$TMP/ev.json" collateral >"$TMP/tc.json"
post "$VPORT" /v1/attestation "$TMP/tc.json"
token tc
expect_eq "$(jv "$TMP/tc.claims" "[j['claims']['verified'], [s['name'] for s in j['claims']['steps'] if not s['ok']][0]]")" \
  '[false, "collateral"]' "forged collateral fails verification"
expect_contains "$(jv "$TMP/tc.claims" "[s['detail'] for s in j['claims']['steps'] if not s['ok']][0]")" "signature" "forged collateral reason"

# strict mode: 403 with the reasons (query and body forms)
post "$VPORT" '/v1/attestation?strict=1' "$TMP/tn.json"
expect_eq "$CODE" "403" "strict status"
expect_eq "$(jv "$TMP/body" "j['failed'][0]['name']")" "report_data" "strict failed check"
expect_eq "$(jv "$TMP/body" "j['error']")" 'the evidence failed policy "default": 1 check(s) failed' "strict error"
$PY -c "import json,sys; print(json.dumps({'evidence': json.load(open(sys.argv[1])), 'strict': True}))" "$TMP/tn.json" >"$TMP/tns.json"
post "$VPORT" /v1/attestation "$TMP/tns.json"
expect_eq "$CODE" "403" "strict in the body"
post "$VPORT" '/v1/attestation?strict=1' "$TMP/ev.json"
expect_eq "$CODE" "200" "strict mode passes good evidence"

# ---- policies by id -----------------------------------------------------------------
$PY -c "import json,sys; print(json.dumps({'evidence': json.load(open(sys.argv[1])), 'policy_ids': [sys.argv[2]]}))" "$TMP/ev.json" sim-model >"$TMP/p1.json"
post "$VPORT" /v1/attestation "$TMP/p1.json"
token t4
expect_eq "$(jv "$TMP/t4.claims" "[j['claims']['policy']['policy_id'], j['claims']['pass']]")" '["sim-model", true]' "policy sim-model"
expect_eq "$(jv "$TMP/t4.claims" "j['claims']['policy']['policy_sha256']")" "$(sha256sum "$TMP/pol/sim-model.json" | cut -c1-64)" "policy hash"
$PY -c "import json,sys; print(json.dumps({'evidence': json.load(open(sys.argv[1])), 'policy_ids': [sys.argv[2]]}))" "$TMP/ev.json" other-model >"$TMP/p2.json"
post "$VPORT" /v1/attestation "$TMP/p2.json"
token t5
expect_eq "$(jv "$TMP/t5.claims" "[f['name'] for f in j['claims']['policy']['failed']]")" '["model_sha256"]' "policy other-model fails on the model"
$PY -c "import json,sys; print(json.dumps({'evidence': json.load(open(sys.argv[1])), 'policy_ids': ['nope']}))" "$TMP/ev.json" >"$TMP/p3.json"
post "$VPORT" /v1/attestation "$TMP/p3.json"
expect_eq "$CODE" "400" "unknown policy"
expect_eq "$(jv "$TMP/body" "j['error']")" 'policy_ids: unknown policy "nope" (known: other-model, sim-model, default)' "unknown policy message"
getj "https://127.0.0.1:$VPORT/v1/policies"
expect_eq "$(jv "$TMP/body" "[p['id'] for p in j]")" '["default", "other-model", "sim-model"]' "policy list"
expect_eq "$(jv "$TMP/body" "j[2]['sha256']")" "$(sha256sum "$TMP/pol/sim-model.json" | cut -c1-64)" "policy list hash"

# ---- Alibaba / Trustee form ----------------------------------------------------------
$PY "$CHK" alibaba "$TMP/ev.json" >"$TMP/ali.json"
post "$VPORT" /v1/attestation "$TMP/ali.json"
expect_eq "$CODE" "200" "Alibaba form"
token t6
expect_eq "$(jv "$TMP/t6.claims" "[j['claims']['tee'], j['claims']['verified']]")" '["tdx-sim", true]' "Alibaba form verified"
expect_eq "$(jv "$TMP/t6.claims" "j['claims']['binding']")" \
  '{"nonce": null, "tls_spki_sha256": null, "e2e_key_sha256": null, "report_data_ok": null}' "Alibaba binding without runtime data"
expect_eq "$(jv "$TMP/t6.claims" "j['claims']['events']")" '{"binary": [], "config": null, "models": []}' "no runtime log: no events"
# runtime_data bound the Trustee way: report data = SHA-384(raw) zero-padded
RAW=$($PY -c 'import base64,os; print(base64.b64encode(os.urandom(24)).decode())')
RD=$($PY -c "import base64,hashlib,sys; print(hashlib.sha384(base64.b64decode(sys.argv[1])).hexdigest())" "$RAW")
"$CCAI" quote --tee sim --state-dir "$TMP/s" --report-data "$RD" -o "$TMP/tq.bin" 2>/dev/null && pass || fail "ccai quote"
$PY "$CHK" alibaba "$TMP/ev.json" "$RAW" "$TMP/tq.bin" >"$TMP/ali2.json"
post "$VPORT" /v1/attestation "$TMP/ali2.json"
token t7
expect_eq "$(jv "$TMP/t7.claims" "j['claims']['binding']")" \
  "{\"nonce\": \"$RAW\", \"tls_spki_sha256\": null, \"e2e_key_sha256\": null, \"report_data_ok\": true}" "Trustee runtime data binding"
$PY "$CHK" alibaba "$TMP/ev.json" "$RAW" >"$TMP/ali3.json"
post "$VPORT" /v1/attestation "$TMP/ali3.json"
token t8
expect_eq "$(jv "$TMP/t8.claims" "[j['claims']['binding']['report_data_ok'], [f['name'] for f in j['claims']['policy']['failed']]]")" \
  '[false, ["report_data"]]' "Trustee runtime data mismatch"

# ---- bad requests, CORS preflight, discovery ----------------------------------------
printf 'not json' >"$TMP/bad.json"
post "$VPORT" /v1/attestation "$TMP/bad.json"
expect_eq "$CODE" "400" "unparseable body"
expect_contains "$(jv "$TMP/body" "j['error']")" "JSON" "unparseable message"
printf '{"version":"ccai-attest/1","tee":"tdx","nonce":"%s","quote":"AAAA"}' "$NONCE" >"$TMP/bad2.json"
post "$VPORT" /v1/attestation "$TMP/bad2.json"
expect_eq "$CODE" "400" "unparseable quote"
expect_contains "$(jv "$TMP/body" "j['error']")" "quote: " "unparseable quote message"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$TMP/big.json"
post "$VPORT" /v1/attestation "$TMP/big.json"
expect_eq "$CODE" "413" "oversized body"
CODE=$(curl -sk -o /dev/null -D "$TMP/hdrs" -w '%{http_code}' -X OPTIONS -H 'Origin: https://ui.example:8443' \
  -H 'Access-Control-Request-Method: POST' "https://127.0.0.1:$VPORT/v1/attestation"); HDRS=$(tr 'A-Z' 'a-z' <"$TMP/hdrs")
expect_eq "$CODE" "204" "preflight allowed"
expect_contains "$HDRS" "access-control-allow-origin: https://ui.example:8443" "preflight origin"
expect_contains "$HDRS" "access-control-allow-methods: get, post, options" "preflight methods"
CODE=$(curl -sk -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' -X OPTIONS -H 'Origin: https://evil.example' \
  -H 'Access-Control-Request-Method: POST' "https://127.0.0.1:$VPORT/v1/attestation"); HDRS=$(tr 'A-Z' 'a-z' <"$TMP/hdrs")
expect_eq "$CODE" "403" "preflight disallowed"
if printf '%s' "$HDRS" | grep -q "access-control-allow-origin"; then fail "preflight allowed evil origin"; else pass; fi
expect_eq "$(jv "$TMP/body" "j['error']")" "CORS: origin https://evil.example is not allowed" "preflight message"
getj "https://127.0.0.1:$VPORT/.well-known/openid-configuration"
expect_eq "$(jv "$TMP/body" "[j['issuer'], j['jwks_uri'], j['id_token_signing_alg_values_supported']]")" \
  "[\"https://127.0.0.1:$VPORT\", \"https://127.0.0.1:$VPORT/jwks.json\", [\"ES256\"]]" "OIDC discovery"
getj "https://127.0.0.1:$VPORT/healthz"
expect_eq "$CODE $BODY" '200 {"status":"ok"}' "healthz"
getj "https://127.0.0.1:$VPORT/jwks.json"
expect_eq "$(jv "$TMP/body" "[k['kid'] for k in j['keys']]")" "[\"$KID1\"]" "one key before rotation"
expect_eq "$(stat -c %a "$TMP/v/verifier/signing-key.pem")" "600" "signing key mode"
QPREFIX=$(jv "$TMP/ev.json" "j['quote'][:40]")
if grep -qF "$QPREFIX" "$VLOG"; then fail "the log holds evidence"; else pass; fi
expect_contains "$(grep '"path":"/v1/attestation"' "$VLOG" | head -1)" '"pass":true' "log line"
stop_verifier "$VPID"

# ---- rotation: the old kid stays while its tokens live -----------------------------
start_verifier rotated --state-dir "$TMP/v" --trust-simulated --rotate-key \
  --issuer https://verifier.example:8444 --token-lifetime 60 || finish
getj "https://127.0.0.1:$VPORT/jwks.json"
expect_eq "$(jv "$TMP/body" "len(j['keys'])")" "2" "two keys after rotation"
expect_eq "$(jv "$TMP/body" "j['keys'][1]['kid']")" "$KID1" "old kid kept"
# the token from before the rotation still verifies against the new JWKS
$PY "$CHK" token "$VPORT" "$TMP/t1.resp" >/dev/null 2>&1 && pass || fail "old token against the rotated JWKS"
post "$VPORT" /v1/attestation "$TMP/ev.json"
token t9
if [ "$(jv "$TMP/t9.claims" "j['kid']")" != "$KID1" ]; then pass; else fail "new tokens use the new key"; fi
expect_eq "$(jv "$TMP/t9.claims" "[j['claims']['iss'], j['claims']['exp'] - j['claims']['iat']]")" \
  '["https://verifier.example:8444", 60]' "--issuer and --token-lifetime"
getj "https://127.0.0.1:$VPORT/.well-known/openid-configuration"
expect_eq "$(jv "$TMP/body" "j['jwks_uri']")" "https://verifier.example:8444/jwks.json" "jwks_uri from --issuer"
stop_verifier "$VPID"

# ---- collateral from a bundle directory (preferred over what evidence carries) ------
mkdir -p "$TMP/cdir" && cp "$TMP/split/coll.json" "$TMP/cdir/sim.json"
start_verifier bundled --state-dir "$TMP/v4" --trust-simulated --collateral "$TMP/cdir" || finish
$PY "$CHK" alibaba "$TMP/ev.json" >"$TMP/ali4.json"
post "$VPORT" /v1/attestation "$TMP/ali4.json"
token tb1
expect_eq "$(jv "$TMP/tb1.claims" "[j['claims']['tee'], j['claims']['verified']]")" '["tdx-sim", true]' "bundle directory"
post "$VPORT" /v1/attestation "$TMP/tc.json"
token tb2
expect_eq "$(jv "$TMP/tb2.claims" "j['claims']['verified']")" "true" "the bundle wins over forged evidence collateral"
stop_verifier "$VPID"

# ---- collateral through --pcs, from its on-disk cache (port 9: nothing listens) -------
mkdir -p "$TMP/v5/collateral"
$PY -c "import json,sys; print(json.dumps({'version': 1, 'fmspc': '00cca1000000', 'ca': 'platform', 'source': 'test',
  'fetched': '2025-01-01T00:00:00Z', 'expires': '2099-01-01T00:00:00Z', 'bundle': json.load(open(sys.argv[1]))}))" \
  "$TMP/split/coll.json" >"$TMP/v5/collateral/collateral-00cca1000000-platform.json"
start_verifier pcs --state-dir "$TMP/v5" --trust-simulated --pcs http://127.0.0.1:9 || finish
post "$VPORT" /v1/attestation "$TMP/ali4.json"
token tp1
expect_eq "$(jv "$TMP/tp1.claims" "[j['claims']['tee'], j['claims']['verified']]")" '["tdx-sim", true]' "PCS cache"
post "$VPORT" /v1/attestation "$TMP/tc.json"
token tp2
expect_eq "$(jv "$TMP/tp2.claims" "j['claims']['verified']")" "true" "PCS wins over forged evidence collateral"
rm "$TMP/v5/collateral/collateral-00cca1000000-platform.json"
post "$VPORT" /v1/attestation "$TMP/ev.json"
token tp3
expect_eq "$(jv "$TMP/tp3.claims" "[j['claims']['verified'], j['claims']['steps'][0]['name']]")" '[false, "collateral"]' "PCS unreachable fails closed"
expect_contains "$(jv "$TMP/tp3.claims" "j['claims']['steps'][0]['detail']")" "127.0.0.1:9" "PCS failure names the URL"
stop_verifier "$VPID"

# ---- a PCS that answers late holds up neither the loop nor the other requests ---------
# (appraisals run on worker threads; slow_pcs.py answers only once released)
$PY "$(dirname "$0")/slow_pcs.py" --portfile "$TMP/pcs.port" --asked "$TMP/pcs.asked" \
  --release "$TMP/pcs.release" &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$TMP/pcs.port" ] && break; sleep 0.05; done
start_verifier slowpcs --state-dir "$TMP/v6" --trust-simulated --pcs "http://127.0.0.1:$(cat "$TMP/pcs.port")" || finish
curl -sk -o "$TMP/slow.body" -w '%{http_code}' -H 'content-type: application/json' \
  --data-binary "@$TMP/ev.json" "https://127.0.0.1:$VPORT/v1/attestation" >"$TMP/slow.code" &
SLOW=$!
for _ in $(seq 1 200); do [ -e "$TMP/pcs.asked" ] && break; sleep 0.05; done
expect_eq "$([ -e "$TMP/pcs.asked" ] && echo asked)" "asked" "the appraisal asked PCS"
getj --max-time 5 "https://127.0.0.1:$VPORT/healthz"
expect_eq "$CODE" "200" "health check answered while an appraisal waits for PCS"
getj --max-time 5 "https://127.0.0.1:$VPORT/jwks.json"
expect_eq "$CODE" "200" "JWKS answered while an appraisal waits for PCS"
expect_eq "$([ -s "$TMP/slow.code" ] && echo done || echo waiting)" "waiting" "the appraisal still waits"
# 15 more fill the 16 appraisal places; the next is turned away with 503
MORE=()
for i in $(seq 1 15); do
  curl -sk -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
    --data-binary "@$TMP/ev.json" "https://127.0.0.1:$VPORT/v1/attestation" >"$TMP/more.$i" &
  MORE+=("$!")
done
for _ in $(seq 1 200); do [ "$(wc -l <"$TMP/pcs.asked")" -ge 16 ] && break; sleep 0.05; done
expect_eq "$(wc -l <"$TMP/pcs.asked")" "16" "16 appraisals wait for PCS at once"
post "$VPORT" /v1/attestation "$TMP/ev.json" --max-time 5
expect_eq "$CODE" "503" "a 17th appraisal is turned away"
expect_contains "$(jv "$TMP/body" "j['error']")" "busy: 16 attestations are being appraised" "503 message"
expect_contains "$HDRS" "retry-after: 1" "503 Retry-After"
touch "$TMP/pcs.release"
wait "$SLOW"
expect_eq "$(cat "$TMP/slow.code")" "200" "the waiting appraisal answers once PCS does"
for i in $(seq 1 15); do wait "${MORE[$((i - 1))]}"; done
expect_eq "$(cat "$TMP"/more.* | sort -u | tr -d '\n')" "200" "the other 15 answer too"
cp "$TMP/slow.body" "$TMP/body"
token tslow
expect_eq "$(jv "$TMP/tslow.claims" "[j['claims']['verified'], j['claims']['steps'][0]['name']]")" '[false, "collateral"]' "PCS without collateral fails closed"
stop_verifier "$VPID"

# ---- a verifier that does not trust the simulated root ------------------------------
start_verifier untrusting --state-dir "$TMP/v2" --rate 3/min || finish
post "$VPORT" /v1/attestation "$TMP/ev.json"
token t10
expect_eq "$(jv "$TMP/t10.claims" "[j['claims']['tee'], j['claims']['verified'], j['claims']['pass']]")" '[null, false, false]' "untrusted root"
expect_contains "$(jv "$TMP/t10.claims" "[f['reason'] for f in j['claims']['policy']['failed'] if f['name'] == 'verified'][0]")" \
  "untrusted root: simulated TDX root CA" "untrusted root reason"
post "$VPORT" '/v1/attestation?strict=1' "$TMP/ev.json"
expect_eq "$CODE" "403" "untrusted root in strict mode"
expect_eq "$(jv "$TMP/body" "sorted(f['name'] for f in j['failed'])")" '["simulated", "tcb_status", "verified"]' "strict reasons"
post "$VPORT" /v1/attestation "$TMP/ev.json"
expect_eq "$CODE" "200" "third request within --rate 3/min"
post "$VPORT" /v1/attestation "$TMP/ev.json"
expect_eq "$CODE" "429" "rate limit"
expect_contains "$(jv "$TMP/body" "j['error']")" "too many attestation requests from this address (3 a minute)" "429 message"
expect_contains "$HDRS" "retry-after: " "Retry-After"
stop_verifier "$VPID"

# ---- usage ------------------------------------------------------------------------------
expect_rc 2 "$CCAI" verifier --listen 0.0.0.0:1 --tls off --state-dir "$TMP/v3"
expect_contains "$ERR" "--tls off is allowed on a loopback address only" "tls off refused"
expect_rc 2 "$CCAI" verifier --collateral a --pcs b
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null
finish
