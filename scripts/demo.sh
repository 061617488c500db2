#!/usr/bin/env bash
# `make demo`: the evidence demo. Until the full stack lands (issues 6-9) the main
# job is the first link of the trust chain on the simulated TD: measure the
# binary, take a quote bound to a fresh nonce, show it, replay the event logs,
# write the collateral a verifier needs, and verify the quote with it.
set -euo pipefail
CCAI=${1:-build/ccai}
STATE=${CCAI_STATE_DIR:-$(pwd)/out/demo-state}
mkdir -p "$(dirname "$STATE")" out
step() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }

step "ccai $("$CCAI" version | cut -d' ' -f2-)"
step "the simulated TD (state in $STATE): a stand-in for TDX hardware, never confidential"
"$CCAI" sim reset --state-dir "$STATE" >/dev/null
"$CCAI" sim info --state-dir "$STATE"

step "measured launch: the ccai binary becomes an RTMR3 event"
sha=$(sha256sum "$CCAI" | cut -d' ' -f1)
"$CCAI" measure extend --tee sim --state-dir "$STATE" --type ccai.binary \
  --data "{\"path\":\"$(basename "$CCAI")\",\"sha256\":\"$sha\"}"

step "a quote bound to a fresh nonce (ccai-attest/1 report data)"
nonce=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
"$CCAI" quote --tee sim --state-dir "$STATE" --nonce "$nonce" -o out/demo-quote.bin
"$CCAI" quote show out/demo-quote.bin

step "the runtime event log replays to RTMR3"
"$CCAI" eventlog show --tee sim --state-dir "$STATE"
"$CCAI" eventlog replay --tee sim --state-dir "$STATE"

step "the firmware event log (CCEL) replays to RTMR0..2"
"$CCAI" eventlog show --firmware --tee sim --state-dir "$STATE"
"$CCAI" eventlog replay --firmware --tee sim --state-dir "$STATE"

step "collateral for a verifier"
"$CCAI" sim collateral --state-dir "$STATE" -o out/demo-collateral.json
echo "wrote out/demo-quote.bin and out/demo-collateral.json"

step "a verifier checks it (DCAP + the default policy; the simulated root is trusted only because we ask)"
"$CCAI" verify out/demo-quote.bin --collateral out/demo-collateral.json \
  --event-log "$STATE/sim/eventlog.jsonl" --trust-simulated
