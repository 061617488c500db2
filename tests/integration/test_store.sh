#!/usr/bin/env bash
# The model store (docs/store.md) against a registry server this test starts
# on a free loopback port (registry_server.py, serving a GGUF made by
# `ccai dev mkmodel` with real manifests): pull, resume after a cut (in the
# same pull and across pulls), a corrupt blob rejected with both digests,
# hostile manifests and names, servers that ignore Range or answer 206
# without Content-Range, manifest sizes that lie, list/show/rm with exact
# fields, hf.co and direct URL pulls with and without --sha256, URL pulls
# over TLS (SSL_CERT_FILE, https -> http redirects refused), a fake
# Ollama store listed and served, and the server's /api/pull, /api/tags, /api/delete and the RTMR3
# event of a model pulled while serving.
. "$(dirname "$0")/lib.sh"

RP= SERVER_PID= HP=
cleanup() {
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
  [ -n "$HP" ] && { kill "$HP" 2>/dev/null; wait "$HP" 2>/dev/null; }
  [ -n "$RP" ] && { kill "$RP" 2>/dev/null; wait "$RP" 2>/dev/null; }
  if [ "$failures" -ne 0 ] && [ -f "$TMP/serve.err" ]; then echo "server stderr:"; tail -n 20 "$TMP/serve.err"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
HERE=$(cd "$(dirname "$0")" && pwd)
jexpr() { $PY -c 'import sys,json; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1"; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- a model and the registry ---------------------------------------------------------------
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-llama -o "$TMP/tiny.gguf" || exit 1
SHA=$(sha256sum "$TMP/tiny.gguf" | cut -c1-64)
SIZE=$(stat -c %s "$TMP/tiny.gguf")
BADSHA=$($PY -c 'import sys,hashlib; b=open(sys.argv[1],"rb").read(); print(hashlib.sha256(b[:-1]+bytes([b[-1]^1])).hexdigest())' "$TMP/tiny.gguf")
DROP=100000
$PY "$HERE/registry_server.py" --gguf "$TMP/tiny.gguf" --portfile "$TMP/rport" --log "$TMP/reg.log" \
  --drop-after $DROP --slow slow >"$TMP/reg.err" 2>&1 & RP=$!
for _ in $(seq 50); do [ -f "$TMP/rport" ] && break; sleep 0.1; done
[ -f "$TMP/rport" ] || { echo "FAIL: the registry server did not start"; cat "$TMP/reg.err"; exit 1; }
R="http://127.0.0.1:$(cat "$TMP/rport")"
export HOME="$TMP/home"
unset CCAI_MODELS CCAI_STATE_DIR OLLAMA_MODELS CCAI_HF_ENDPOINT http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export CCAI_REGISTRY="$R"
ST="$HOME/.ccai/models"
lasterr() { printf '%s\n' "$ERR" | tail -n 1; }
blobreqs() { grep -F "GET /v2/library/$1/blobs/sha256:$SHA " "$TMP/reg.log"; }

# --- pull, with the connection cut mid-blob once: resumed with Range ----------------------------
expect_rc 0 "$CCAI" pull tiny
expect_eq "$OUT" "pulled tiny:latest" "pull's result line"
expect_contains "$ERR" "pulling manifest" "plain progress"
expect_contains "$ERR" "pulling ${SHA:0:12}: " "blob progress line"
expect_contains "$ERR" "success" "pull status"
expect_eq "$(blobreqs tiny | sed -n 1p)" "GET /v2/library/tiny/blobs/sha256:$SHA range=-" "first blob request"
expect_eq "$(blobreqs tiny | sed -n 2p)" "GET /v2/library/tiny/blobs/sha256:$SHA range=bytes=$DROP-" "resumed with Range"
cmp -s "$ST/blobs/sha256-$SHA" "$TMP/tiny.gguf" && pass || fail "the resumed blob is not byte-identical"
expect_eq "$(ls "$ST/manifests/registry.ollama.ai/library/tiny")" "latest" "manifest path"
expect_eq "$(ls "$ST/blobs" | grep -c partial)" "0" "no partial files after a pull"

# --- proxy variables are honoured (libcurl's http_proxy) ------------------------------------------------
$PY "$HERE/http_proxy.py" "$TMP/pport" "$TMP/proxy.log" >"$TMP/proxy.err" 2>&1 & PXP=$!
for _ in $(seq 50); do [ -f "$TMP/pport" ] && break; sleep 0.1; done
expect_rc 0 env http_proxy="http://127.0.0.1:$(cat "$TMP/pport")" CCAI_MODELS="$TMP/proxied" "$CCAI" pull tiny
expect_eq "$OUT" "pulled tiny:latest" "pull through a proxy"
expect_contains "$(cat "$TMP/proxy.log")" "GET $R/v2/library/tiny/manifests/latest" "the manifest came through the proxy"
expect_contains "$(cat "$TMP/proxy.log")" "GET $R/v2/library/tiny/blobs/sha256:$SHA" "the blob came through the proxy"
cmp -s "$TMP/proxied/blobs/sha256-$SHA" "$TMP/tiny.gguf" && pass || fail "the proxied blob differs"
kill $PXP 2>/dev/null; wait $PXP 2>/dev/null

# --- list and show: exact fields ---------------------------------------------------------------------
expect_rc 0 "$CCAI" list
expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p | tr -s ' ')" "NAME ID SIZE PARAMS QUANT MODIFIED" "list header"
expect_eq "$(printf '%s\n' "$OUT" | grep '^tiny:latest' | awk '{print $1,$2,$3,$4,$5,$6}')" \
  "tiny:latest ${SHA:0:12} 3.8 MB 952K F32" "list row"
expect_contains "$(printf '%s\n' "$OUT" | grep '^tiny:latest')" "Less than a second ago" "list age"
expect_rc 0 "$CCAI" list --json
expect_eq "$(printf '%s' "$OUT" | jexpr '[(m["name"],m["digest"],m["store"],m["details"]["family"],m["details"]["parameter_size"],m["details"]["quantization_level"]) for m in d["models"]]')" \
  "[[\"tiny:latest\", \"$SHA\", \"ccai\", \"llama\", \"952K\", \"F32\"]]" "list --json"
expect_rc 0 "$CCAI" show tiny:latest
for want in "    architecture         llama" "    parameters           952K" \
  "    context length       512" "    embedding length     256" "    quantization         F32" \
  "    digest               sha256:$SHA" "    {{ .Prompt }}" "    temperature          0.6" \
  "    stop                 \"<|end|>\"" "    MIT License"; do
  expect_contains "$OUT" "$want" "show"
done
expect_rc 0 "$CCAI" show --json tiny
expect_eq "$(printf '%s' "$OUT" | jexpr '[d["model_info"]["context_length"],d["model_info"]["embedding_length"],d["template"],d["parameters"]["stop"],d["license"]]')" \
  '[512, 256, "{{ .Prompt }}", ["<|end|>"], "MIT License\nfor testing"]' "show --json"
expect_rc 1 "$CCAI" show nosuch
expect_eq "$(lasterr)" "ccai show: model 'nosuch:latest' not found (see 'ccai list')" "show of an absent model"

# --- a corrupt blob: rejected with both digests, nothing installed ------------------------------------
expect_rc 1 "$CCAI" pull corrupt
expect_contains "$ERR" "ccai pull: blob sha256:$SHA is corrupt: expected digest sha256:$SHA, found sha256:$BADSHA (the download was removed)" "corrupt blob error"
expect_not_contains "$("$CCAI" list)" "corrupt" "corrupt model listed"
[ -e "$ST/manifests/registry.ollama.ai/library/corrupt" ] && fail "corrupt manifest written" || pass
[ -e "$ST/blobs/sha256-$SHA-partial" ] && fail "corrupt partial kept" || pass
cmp -s "$ST/blobs/sha256-$SHA" "$TMP/tiny.gguf" && pass || fail "the good blob was damaged"

# --- hostile registries and names -------------------------------------------------------------------------
expect_rc 1 "$CCAI" pull badtype
expect_eq "$(lasterr)" "ccai pull: manifest: mediaType: expected application/vnd.docker.distribution.manifest.v2+json or application/vnd.oci.image.manifest.v1+json, found 'application/vnd.oci.image.index.v1+json'" "wrong manifest media type"
expect_rc 1 "$CCAI" pull htmltype
expect_eq "$(lasterr)" "ccai pull: manifest: the registry answered Content-Type 'text/html', expected application/vnd.docker.distribution.manifest.v2+json" "wrong Content-Type"
expect_rc 1 "$CCAI" pull huge
expect_eq "$(lasterr)" "ccai pull: GET $R/v2/library/huge/manifests/latest: the answer exceeds 1048576 bytes" "oversized manifest"
expect_rc 1 "$CCAI" pull traversal
expect_eq "$(lasterr)" "ccai pull: manifest: layers[0]: digest 'sha256:../../../../etc/passwd': expected 'sha256:' and 64 lower-case hex digits" "digest with a path"
expect_rc 1 "$CCAI" pull nomodel
expect_eq "$(lasterr)" "ccai pull: manifest: no layer of media type application/vnd.ollama.image.model (not a model)" "no model layer"
expect_rc 1 "$CCAI" pull missing:v2
expect_eq "$(lasterr)" "ccai pull: model 'missing:v2' not found in the registry $R (GET $R/v2/library/missing/manifests/v2: HTTP 404)" "404"
expect_rc 2 "$CCAI" pull ../etc/passwd
expect_contains "$ERR" "ccai pull: host '..': character '.' at 0 is not allowed" "traversal in a name"
expect_rc 2 "$CCAI" pull a/b/c/d
expect_contains "$ERR" "has more than three parts" "four-part name"
expect_rc 2 "$CCAI" pull 'tiny:'
expect_contains "$ERR" "ccai pull: empty tag" "empty tag"
expect_rc 2 "$CCAI" pull --registry "$R" tiny --sha256 00
expect_contains "$ERR" "--sha256 is for hf.co and URL pulls" "--sha256 on a registry pull"
expect_rc 1 "$CCAI" pull --registry "http://127.0.0.1:1" tiny
expect_contains "$ERR" "ccai pull: GET http://127.0.0.1:1/v2/library/tiny/manifests/latest: " "unreachable registry"
expect_eq "$(find "$ST/manifests" -type f | wc -l)" "1" "only the good model installed"

# --- resume across pulls: a partial file left by a cut ---------------------------------------------------
expect_rc 0 "$CCAI" rm tiny
expect_eq "$OUT" "deleted 'tiny'" "rm output"
expect_eq "$(ls "$ST/blobs" | wc -l)" "0" "rm removed every unreferenced blob"
[ -e "$ST/manifests/registry.ollama.ai" ] && fail "rm left empty manifest directories" || pass
expect_rc 1 "$CCAI" rm tiny
expect_eq "$(lasterr)" "ccai rm: model 'tiny:latest' not found (see 'ccai list')" "rm of an absent model"
HALF=$((SIZE / 2))
head -c $HALF "$TMP/tiny.gguf" >"$ST/blobs/sha256-$SHA-partial"
: >"$TMP/reg.log"
expect_rc 0 "$CCAI" pull tiny:v1
expect_eq "$(blobreqs tiny)" "GET /v2/library/tiny/blobs/sha256:$SHA range=bytes=$HALF-" "a new pull resumes the partial"
cmp -s "$ST/blobs/sha256-$SHA" "$TMP/tiny.gguf" && pass || fail "resumed blob differs"
# A partial whose prefix is garbage: the digest check catches it and removes it.
expect_rc 0 "$CCAI" rm tiny:v1
head -c $HALF /dev/zero >"$ST/blobs/sha256-$SHA-partial"
expect_rc 1 "$CCAI" pull tiny
expect_contains "$ERR" "is corrupt: expected digest sha256:$SHA, found sha256:" "bad partial prefix"
[ -e "$ST/blobs/sha256-$SHA-partial" ] && fail "bad partial kept" || pass
expect_rc 0 "$CCAI" pull tiny
expect_eq "$OUT" "pulled tiny:latest" "pull after a bad partial"

# --- servers that bend Range and sizes that lie ---------------------------------------------------------------
# A 200 to a Range request starts the file over (appending would overrun the size).
head -c $HALF "$TMP/tiny.gguf" >"$ST/blobs/sha256-$SHA-partial"
: >"$TMP/reg.log"
expect_rc 0 "$CCAI" pull norange
expect_eq "$(blobreqs norange)" "GET /v2/library/norange/blobs/sha256:$SHA range=bytes=$HALF-" "Range asked, 200 answered"
cmp -s "$ST/blobs/sha256-$SHA" "$TMP/tiny.gguf" && pass || fail "a 200 to a Range request was appended"
expect_rc 0 "$CCAI" rm norange
# A 206 without Content-Range: where its bytes go is unknown, so it is refused.
head -c $HALF "$TMP/tiny.gguf" >"$ST/blobs/sha256-$SHA-partial"
expect_rc 1 "$CCAI" pull nocr
expect_eq "$(lasterr)" "ccai pull: GET $R/v2/library/nocr/blobs/sha256:$SHA: a 206 answer without a usable Content-Range (asked for bytes from $HALF)" "206 without Content-Range"
expect_eq "$(stat -c %s "$ST/blobs/sha256-$SHA-partial")" "$HALF" "the partial is not appended to"
rm -f "$ST/blobs/sha256-$SHA-partial"
# A manifest size smaller than the blob: cut off at once.
expect_rc 1 "$CCAI" pull short
expect_eq "$(lasterr)" "ccai pull: blob sha256:$SHA: the server sent more than the $((SIZE - 1000)) bytes expected" "manifest size too small"
# A manifest size larger than the blob: one request, then a verification failure (no endless re-fetching).
: >"$TMP/reg.log"
expect_rc 1 "$CCAI" pull long
expect_eq "$(lasterr)" "ccai pull: blob sha256:$SHA: the server's answer ended at $SIZE bytes, $((SIZE + 1000)) expected (the download was removed)" "manifest size too large"
expect_eq "$(blobreqs long | wc -l)" "1" "a blob shorter than its size is fetched once"
TSHA=$(printf '%s' '{{ .Prompt }}' | sha256sum | cut -c1-64)
expect_rc 1 "$CCAI" pull twosize
expect_eq "$(lasterr)" "ccai pull: manifest: layers[4]: digest sha256:$TSHA has size 999999, but 13 before" "one digest, two sizes"
for m in short long twosize; do
  expect_not_contains "$("$CCAI" list)" "$m:" "$m listed"
done
expect_eq "$(ls "$ST/blobs" | grep -c partial)" "0" "no partial files after lying sizes"
# An empty 200 to a Range request: the old partial's bytes are not what the server serves.
EMPTYURL="$R/files/empty.gguf"
cp "$TMP/tiny.gguf" "$ST/blobs/url-$(printf '%s' "$EMPTYURL" | sha256sum | cut -c1-64)-partial"
expect_rc 1 "$CCAI" pull "$EMPTYURL" --name empty:v1
expect_eq "$(lasterr)" "ccai pull: $EMPTYURL is not a GGUF file (no 'GGUF' magic); removed it" "empty 200 to a Range request"
expect_not_contains "$("$CCAI" list)" "empty:v1" "the old partial installed"

# --- Hugging Face and direct URLs ---------------------------------------------------------------------------
export CCAI_HF_ENDPOINT="$R"
: >"$TMP/reg.log"
expect_rc 0 "$CCAI" pull hf.co/org/repo:q8_0
expect_eq "$OUT" "pulled hf.co/org/repo:q8_0" "hf pull"
expect_contains "$(cat "$TMP/reg.log")" "GET /org/repo/resolve/main/tiny-Q8_0.gguf range=-" "hf file chosen by quant"
expect_rc 1 "$CCAI" pull --sha256 "$(printf '0%.0s' $(seq 64))" hf.co/org/repo:F32
expect_eq "$(lasterr)" "ccai pull: org/repo/tiny-F32.gguf: --sha256 0000000000000000000000000000000000000000000000000000000000000000 does not match the SHA-256 Hugging Face lists ($SHA)" "hf --sha256 against LFS"
expect_rc 0 "$CCAI" pull --sha256 "$SHA" hf.co/org/repo:F32
expect_rc 1 "$CCAI" pull hf.co/org/repo:Q5_K_M
expect_eq "$(lasterr)" "ccai pull: org/repo has no GGUF file matching 'Q5_K_M' (files: tiny-Q8_0.gguf, tiny-F32.gguf)" "hf no match"
expect_rc 2 "$CCAI" pull hf.co/org/repo
expect_contains "$ERR" "several GGUF files match; name one with :QUANT" "hf ambiguous"
expect_rc 1 "$CCAI" pull hf.co/org/none
expect_contains "$ERR" "Hugging Face repository org/none not found" "hf 404"
expect_rc 1 "$CCAI" pull --sha256 "$(printf 'a%.0s' $(seq 64))" hf.co/org/nolfs:Q8_0
expect_contains "$ERR" "expected digest sha256:$(printf 'a%.0s' $(seq 64)), found sha256:$SHA" "hf without LFS, wrong --sha256"
expect_rc 0 "$CCAI" pull hf.co/org/nolfs:Q8_0
expect_rc 0 "$CCAI" pull "$R/files/tiny.gguf" --name direct:v1
expect_eq "$OUT" "pulled direct:v1" "direct URL pull"
expect_rc 1 "$CCAI" pull --sha256 "$BADSHA" "$R/files/tiny.gguf" --name direct:v2
expect_contains "$ERR" "expected digest sha256:$BADSHA, found sha256:$SHA" "direct URL, wrong --sha256"
expect_rc 0 "$CCAI" pull --sha256 "$SHA" "$R/files/tiny.gguf"
expect_eq "$OUT" "pulled tiny:latest" "direct URL named after the file"
expect_rc 2 "$CCAI" pull "$R/files/tiny.bin"
expect_contains "$ERR" "expected the URL of a .gguf file" "direct URL not a gguf"
expect_rc 0 "$CCAI" list
for n in hf.co/org/repo:q8_0 hf.co/org/repo:F32 hf.co/org/nolfs:Q8_0 direct:v1 tiny:latest; do
  expect_eq "$(printf '%s\n' "$OUT" | awk -v n="$n" '$1==n {print $2}')" "${SHA:0:12}" "listed $n"
done
expect_eq "$(ls "$ST/blobs" | grep -c partial)" "0" "no partial files left"

# --- URL pulls over TLS: SSL_CERT_FILE is honoured; a redirect from https to http is refused ------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>"$TMP/openssl.err" \
  || { fail "openssl could not make a certificate"; cat "$TMP/openssl.err"; }
$PY "$HERE/https_redirect.py" --cert "$TMP/tls.crt" --key "$TMP/tls.key" --gguf "$TMP/tiny.gguf" \
  --http "$R" --portfile "$TMP/hport" >"$TMP/https.err" 2>&1 & HP=$!
for _ in $(seq 50); do [ -f "$TMP/hport" ] && break; sleep 0.1; done
HS="https://127.0.0.1:$(cat "$TMP/hport")"
TS="$TMP/tls-store"
expect_rc 1 env CCAI_MODELS="$TS" "$CCAI" pull --sha256 "$SHA" "$HS/files/tiny.gguf" --name tls:v0
expect_contains "$ERR" "GET $HS/files/tiny.gguf: " "an unknown CA: the pull fails"
expect_rc 0 env CCAI_MODELS="$TS" SSL_CERT_FILE="$TMP/tls.crt" "$CCAI" pull --sha256 "$SHA" "$HS/files/tiny.gguf" --name tls:v1
expect_eq "$OUT" "pulled tls:v1" "https URL pull with SSL_CERT_FILE"
expect_rc 0 env CCAI_MODELS="$TS" SSL_CERT_FILE="$TMP/tls.crt" "$CCAI" pull --sha256 "$SHA" "$HS/to-https" --name tls:v2
expect_eq "$OUT" "pulled tls:v2" "a redirect from https to https is followed"
before=$(grep -c "GET /files/tiny.gguf " "$TMP/reg.log")
expect_rc 1 env CCAI_MODELS="$TS" SSL_CERT_FILE="$TMP/tls.crt" "$CCAI" pull --sha256 "$SHA" "$HS/to-http" --name tls:v3
expect_eq "$(lasterr)" "ccai pull: GET $HS/to-http: refused a redirect from https to $R/files/tiny.gguf (plain http) (0 bytes kept for a resume)" "https -> http redirect refused"
expect_eq "$(grep -c "GET /files/tiny.gguf " "$TMP/reg.log")" "$before" "nothing was asked of the http server"
expect_eq "$(ls "$TS/manifests/registry.ollama.ai/library/tls" 2>/dev/null | tr '\n' ' ')" "v1 v2 " "only the good pulls installed"
kill $HP 2>/dev/null; wait $HP 2>/dev/null; HP=

# --- a fake Ollama store: listed, never modified, served ---------------------------------------------------
OL="$TMP/ollama"
mkdir -p "$OL/manifests/registry.ollama.ai/library/ollm" "$OL/blobs"
cp "$TMP/tiny.gguf" "$OL/blobs/sha256-$SHA"
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%s}]}' \
  "$SHA" "$SIZE" "$SHA" "$SIZE" >"$OL/manifests/registry.ollama.ai/library/ollm/7b"
export OLLAMA_MODELS="$OL"
expect_rc 0 "$CCAI" list --json
expect_eq "$(printf '%s' "$OUT" | jexpr '[m["store"] for m in d["models"] if m["name"]=="ollm:7b"]')" '["ollama"]' "Ollama model listed"
expect_rc 1 "$CCAI" rm ollm:7b
expect_eq "$(lasterr)" "ccai rm: model 'ollm:7b' is in the Ollama store $OL, which ccai never modifies (remove it with 'ollama rm')" "rm refuses the Ollama store"
[ -f "$OL/blobs/sha256-$SHA" ] && [ -f "$OL/manifests/registry.ollama.ai/library/ollm/7b" ] && pass || fail "Ollama store changed"

# --- serve: the Ollama model by name; /api/pull, /api/tags, /api/delete, RTMR3 ------------------------------
expect_rc 0 "$CCAI" rm tiny:latest
for attempt in 1 2 3; do
  PORT=$(free_port)
  "$CCAI" serve --model ollm:7b --listen "127.0.0.1:$PORT" --state-dir "$TMP/s" --tee sim \
    --auth off --tls off --threads 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
  SERVER_PID=$!
  U="http://127.0.0.1:$PORT"
  for _ in $(seq 100); do
    curl -s --max-time 2 "$U/api/version" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && break
  SERVER_PID=
done
[ -n "$SERVER_PID" ] || { echo "FAIL: the server did not start"; cat "$TMP/serve.err"; finish; }
req() { CODE=$(curl -s --max-time 60 -o "$TMP/body" -w '%{http_code}' -X "$1" "$U$2" ${3:+-d "$3"}); }
req GET /api/tags
expect_eq "$(jexpr '[m["name"] for m in d["models"]]' <"$TMP/body")" '["ollm:7b"]' "/api/tags names the Ollama model"
req POST /api/generate '{"model":"ollm:7b","prompt":"hi","stream":false,"options":{"num_predict":3,"seed":1}}'
expect_eq "$CODE" "200" "/api/generate on the Ollama model"
expect_eq "$(jexpr '[d["done"], d["eval_count"]]' <"$TMP/body")" "[true, 3]" "generation ran"
NONCE=$($PY -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')
events() { curl -s "$U/api/attestation?nonce=$NONCE" | jexpr '[json.loads(e["event"])["data"]["name"] for e in d["event_log"] if json.loads(e["event"])["type"]=="ccai.model"]'; }
expect_eq "$(events)" '["ollm:7b"]' "event log before the pull"
req POST /api/pull '{"model":"tiny"}'
expect_eq "$CODE" "200" "/api/pull"
expect_eq "$(sed -n 1p "$TMP/body")" '{"status":"pulling manifest"}' "/api/pull first line"
expect_eq "$(tail -n 1 "$TMP/body")" '{"status":"success"}' "/api/pull last line"
expect_contains "$(cat "$TMP/body")" "{\"status\":\"pulling ${SHA:0:12}\",\"digest\":\"sha256:$SHA\",\"total\":$SIZE,\"completed\":$SIZE}" "/api/pull progress"
req GET /api/tags
expect_eq "$(jexpr 'sorted(m["name"] for m in d["models"])' <"$TMP/body")" '["ollm:7b", "tiny:latest"]' "/api/tags after the pull"
req POST /api/show '{"model":"tiny:latest"}'
expect_eq "$CODE" "200" "/api/show of the pulled model"
expect_eq "$(jexpr '[d["details"]["family"], d["details"]["parameter_size"], d["details"]["quantization_level"]]' <"$TMP/body")" '["llama", "952K", "F32"]' "/api/show details"
expect_eq "$(events)" '["ollm:7b"]' "not measured before first use"
req POST /api/generate '{"model":"tiny","prompt":"hi","stream":false,"options":{"num_predict":2}}'
expect_eq "$CODE" "200" "/api/generate on the pulled model"
expect_eq "$(events)" '["ollm:7b", "tiny:latest"]' "ccai.model event after first use"
expect_eq "$(curl -s "$U/api/attestation?nonce=$NONCE" | jexpr '[json.loads(e["event"])["data"]["sha256"] for e in d["event_log"] if json.loads(e["event"])["type"]=="ccai.model"][1]')" "$SHA" "measured digest"
req POST /api/pull '{"model":"../x"}'
expect_eq "$CODE" "400" "/api/pull bad name"
req POST /api/pull '{"model":"corrupt","stream":false}'
expect_eq "$CODE" "502" "/api/pull corrupt, not streamed: the registry's fault"
expect_contains "$(cat "$TMP/body")" "is corrupt: expected digest sha256:$SHA" "/api/pull corrupt error"
req DELETE /api/delete '{"model":"tiny"}'
expect_eq "$CODE" "409" "/api/delete of a served model"
for spelling in registry.ollama.ai/library/tiny:latest library/TINY Tiny:latest; do
  req DELETE /api/delete "{\"model\":\"$spelling\"}"
  expect_eq "$CODE" "409" "/api/delete of a served model spelt $spelling"
done
[ -f "$ST/manifests/registry.ollama.ai/library/tiny/latest" ] && pass || fail "a served model's manifest was deleted"
req DELETE /api/delete '{"model":"direct:v1"}'
expect_eq "$CODE" "200" "/api/delete"
req DELETE /api/delete '{"model":"direct:v1"}'
expect_eq "$CODE" "404" "/api/delete again"
expect_not_contains "$("$CCAI" list)" "direct:v1" "deleted model gone from list"
# A client that goes away cancels its pull (the partial stays for a resume).
PART="$ST/blobs/sha256-$SHA-partial"
slow_pull() {
  curl -sN --max-time 60 -X POST "$U/api/pull" -d '{"model":"slow"}' >"$TMP/slow.out" 2>/dev/null & CURL_PID=$!
  for _ in $(seq 100); do grep -q "\"completed\":[1-9]" "$TMP/slow.out" 2>/dev/null && break; sleep 0.1; done
}
slow_pull
grep -q '"completed":[1-9]' "$TMP/slow.out" && pass || fail "the slow pull made no progress"
kill "$CURL_PID"; wait "$CURL_PID" 2>/dev/null
sleep 1; A=$(stat -c %s "$PART" 2>/dev/null); sleep 1; B=$(stat -c %s "$PART" 2>/dev/null)
[ -n "$A" ] && [ "$A" = "$B" ] && [ "$A" -lt "$SIZE" ] && pass || fail "the pull went on after its client left ($A, $B)"
req GET /api/tags
expect_eq "$(jexpr 'sorted(m["name"] for m in d["models"])' <"$TMP/body")" '["ollm:7b", "tiny:latest"]' "no model from a cancelled pull"
# SIGTERM while a pull is in flight: the server stops it, joins it and exits 0.
slow_pull
T0=$(date +%s)
kill "$SERVER_PID"; wait "$SERVER_PID"; expect_eq "$?" "0" "server exits 0 on SIGTERM during a pull"; SERVER_PID=
[ $(( $(date +%s) - T0 )) -le 8 ] && pass || fail "shutdown during a pull took $(( $(date +%s) - T0 )) s"
wait "$CURL_PID" 2>/dev/null
expect_not_contains "$(cat "$TMP/slow.out")" '"status":"success"' "no success from a stopped pull"
expect_not_contains "$(cat "$TMP/serve.err")" "Sanitizer" "server sanitizer report"

# --- --auth on: /api/pull and /api/delete are for admins -------------------------------------------------------
PORT=$(free_port)
CCAI_ADMIN_PASSWORD=test-admin-pw-123 "$CCAI" serve --model ollm:7b --listen "127.0.0.1:$PORT" \
  --state-dir "$TMP/s2" --tee sim --tls off >"$TMP/serve2.out" 2>"$TMP/serve2.err" & SERVER_PID=$!
U="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s --max-time 2 "$U/api/version" >/dev/null 2>&1 && break; sleep 0.1; done
req POST /api/pull '{"model":"tiny"}'
expect_eq "$CODE" "401" "/api/pull without credentials"
req DELETE /api/delete '{"model":"tiny"}'
expect_eq "$CODE" "401" "/api/delete without credentials"
# A user-role key is refused (403); the admin's session passes to the handler (404: no such model).
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -c "$TMP/jar" "$U/api/login" -d '{"username":"admin","password":"test-admin-pw-123"}')
expect_eq "$CODE" "200" "admin login"
COOKIE="Cookie: ccai_session=$(awk '$6=="ccai_session" {print $7}' "$TMP/jar")"
areq() { CODE=$(curl -s --max-time 60 -o "$TMP/body" -w '%{http_code}' -X "$1" "$U$2" -H "$3" -d "$4"); }
areq POST /api/admin/users "$COOKIE" '{"name":"alice","password":"alice password","role":"user"}'
expect_eq "$CODE" "201" "admin creates a user"
areq POST /api/admin/keys "$COOKIE" '{"user":"alice","label":"t"}'
expect_eq "$CODE" "201" "admin creates a key for the user"
UKEY="Authorization: Bearer $(jexpr 'd["key"]' <"$TMP/body")"
areq POST /api/pull "$UKEY" '{"model":"tiny"}'
expect_eq "$CODE" "403" "/api/pull with a user-role key"
areq DELETE /api/delete "$UKEY" '{"model":"tiny"}'
expect_eq "$CODE" "403" "/api/delete with a user-role key"
areq DELETE /api/delete "$COOKIE" '{"model":"nosuch"}'
expect_eq "$CODE" "404" "/api/delete as admin reaches the store"
expect_eq "$(jexpr 'd["error"]' <"$TMP/body")" "model 'nosuch:latest' not found (see 'ccai list')" "/api/delete 404 message"
kill "$SERVER_PID"; wait "$SERVER_PID"; expect_eq "$?" "0" "second server exits 0"; SERVER_PID=

# --- --store-models: the whole store offered, each model hashed and measured on first use --------------------
expect_rc 0 "$CCAI" list --json
STORE_NAMES=$(printf '%s' "$OUT" | jexpr 'sorted(m["name"] for m in d["models"])')
PORT=$(free_port)
"$CCAI" serve --store-models --listen "127.0.0.1:$PORT" --state-dir "$TMP/s3" --tee sim --auth off --tls off \
  --threads 1 >"$TMP/serve3.out" 2>"$TMP/serve3.err" & SERVER_PID=$!
U="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s --max-time 2 "$U/api/version" >/dev/null 2>&1 && break; sleep 0.1; done
req GET /api/tags
expect_eq "$(jexpr 'sorted(m["name"] for m in d["models"])' <"$TMP/body")" "$STORE_NAMES" "/api/tags lists the store"
expect_eq "$(jexpr '[m["digest"] for m in d["models"] if m["name"]=="ollm:7b"]' <"$TMP/body")" "[\"$SHA\"]" "digest from the manifest"
expect_eq "$(events)" '[]' "nothing measured before first use"
req POST /api/generate '{"model":"ollm:7b","prompt":"hi","stream":false,"options":{"num_predict":2}}'
expect_eq "$CODE" "200" "/api/generate on a store model"
expect_eq "$(events)" '["ollm:7b"]' "measured on first use"
kill "$SERVER_PID"; wait "$SERVER_PID"; expect_eq "$?" "0" "third server exits 0"; SERVER_PID=
# a blob that no longer matches its manifest is never loaded (nor measured)
chmod u+w "$OL/blobs/sha256-$SHA"; printf 'X' | dd of="$OL/blobs/sha256-$SHA" bs=1 seek=$((SIZE - 1)) conv=notrunc 2>/dev/null
PORT=$(free_port)
"$CCAI" serve --store-models --listen "127.0.0.1:$PORT" --state-dir "$TMP/s4" --tee sim --auth off --tls off \
  --threads 1 >"$TMP/serve4.out" 2>"$TMP/serve4.err" & SERVER_PID=$!
U="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s --max-time 2 "$U/api/version" >/dev/null 2>&1 && break; sleep 0.1; done
req POST /api/generate '{"model":"ollm:7b","prompt":"hi","stream":false,"options":{"num_predict":2}}'
expect_eq "$CODE" "500" "a corrupted store model is refused"
expect_contains "$(cat "$TMP/body")" "its manifest says $SHA; refusing to load it" "corrupted store model error"
expect_eq "$(events)" '[]' "the corrupted model was never measured"
kill "$SERVER_PID"; wait "$SERVER_PID"; expect_eq "$?" "0" "fourth server exits 0"; SERVER_PID=
finish
