#!/usr/bin/env bash
# `make demo`: the whole stack on loopback, on the simulated TD.
#
#   ccai serve     the inference server with the web UI, TLS key born in memory,
#                  measured launch into RTMR3, evidence at /api/attestation
#   ccai verifier  the attestation service the UI and the CLI ask
#   ccai attest    the command-line relying party, run once against it
#
# The model: $MODEL; else ../shared/models/stories260K.gguf when present; else
# the small model the build generates with ccai's own generator. Ports:
# $DEMO_PORT (default 8443) and $VERIFIER_PORT (8444), or free ones when those
# are taken. State (simulated TD, accounts, verifier key): $DEMO_DIR (default
# out/demo). Ctrl-C (or SIGTERM) stops everything cleanly.
#
# Everything is simulated: the shield is amber, "not confidential", by design.
set -uo pipefail
CCAI=$(readlink -f "${1:-build/ccai}")
BUILD=$(dirname "$CCAI")
DIR=${DEMO_DIR:-$(pwd)/out/demo}
SHARED_MODEL="$(cd "$(dirname "$0")/.." && pwd)/../shared/models/stories260K.gguf"
if [ -n "${MODEL:-}" ]; then M=$MODEL
elif [ -f "$SHARED_MODEL" ]; then M=$SHARED_MODEL
else M=$BUILD/demo-model.gguf
fi
[ -f "$M" ] || { echo "demo: no model at $M (set MODEL=path/to/model.gguf)" >&2; exit 1; }
step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $1))" 2>/dev/null; }
PORT=${DEMO_PORT:-8443}; port_free "$PORT" || PORT=$(free_port)
VPORT=${VERIFIER_PORT:-8444}; port_free "$VPORT" && [ "$VPORT" != "$PORT" ] || VPORT=$(free_port)
URL="https://127.0.0.1:$PORT"; VURL="https://127.0.0.1:$VPORT"

pids=()
stop() {
  trap - INT TERM
  step "stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  echo "demo: stopped"
  exit 0
}
trap stop INT TERM
die() { echo "demo: $*" >&2; for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; exit 1; }
wait_ready() { # URL PID LOG
  for _ in $(seq 1 300); do
    curl -sk -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "it exited: $(tail -3 "$3")"
    sleep 0.1
  done
  die "not ready after 30 s: $(tail -3 "$3")"
}

rm -rf "$DIR"; mkdir -p "$DIR"
step "ccai $("$CCAI" version | cut -d' ' -f2-), model $(basename "$M")"

step "the attestation service on $VURL (trusts the simulated root: this is a demo)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$DIR/verifier.key" -out "$DIR/verifier.crt" 2>/dev/null \
  || die "openssl could not make the verifier's certificate"
"$CCAI" verifier --listen "127.0.0.1:$VPORT" --state-dir "$DIR/verifier" --trust-simulated \
  --tls-cert "$DIR/verifier.crt" --tls-key "$DIR/verifier.key" --cors-origin "$URL" \
  >"$DIR/verifier.log" 2>&1 &
pids+=($!)
wait_ready "$VURL/healthz" "${pids[-1]}" "$DIR/verifier.log"

step "the server on $URL: measured launch on the simulated TD"
PW=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
CCAI_ADMIN_PASSWORD=$PW "$CCAI" serve --model "$M" --tee sim --state-dir "$DIR/server" \
  --listen "127.0.0.1:$PORT" --verifier "$VURL" >"$DIR/server.log" 2>&1 &
pids+=($!)
wait_ready "$URL/api/version" "${pids[-1]}" "$DIR/server.log"
grep -E "measured" "$DIR/server.log" | sed 's/^/  /'

# An API key for the command-line client (the browser logs in instead).
curl -sk -c "$DIR/jar" -o /dev/null -d "{\"username\":\"admin\",\"password\":\"$PW\"}" "$URL/api/login"
KEY=$(curl -sk -b "$DIR/jar" -d '{"label":"demo"}' "$URL/api/keys" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') || die "could not make an API key"
rm -f "$DIR/jar"

step "ccai attest: local verification (DCAP + the default policy)"
"$CCAI" attest "$URL" --trust-simulated | tail -4
step "ccai attest: through the attestation service (its ES256 token checked here)"
"$CCAI" attest "$URL" --verifier "$VURL" --verifier-ca "$DIR/verifier.crt" --trust-simulated | tail -3

step "ready"
cat <<EOF
  web UI         $URL   (log in as admin / $PW)
                 first open $VURL/healthz once and accept its certificate, so the
                 browser can ask the attestation service; the shield is amber
                 (simulated TEE: not confidential)
  attest         $CCAI attest $URL --trust-simulated
  chat           CCAI_API_KEY=$KEY $CCAI chat $URL --trust-simulated
  API key        $KEY
  logs           $DIR/server.log, $DIR/verifier.log
Press Ctrl-C to stop.
EOF
while :; do
  wait -n "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a service stopped; see $DIR/*.log"; done
done
