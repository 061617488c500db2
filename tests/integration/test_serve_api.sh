#!/usr/bin/env bash
# `ccai serve`'s inference APIs over real TLS on a free loopback port: the
# Ollama routes (/api/generate, /api/chat, /api/tags, /api/show, /api/ps,
# /api/version) and the OpenAI ones (/v1/chat/completions, /v1/models), with
# exact text from stories260K (llm-facts §7, when ../shared is there), the
# statistics, error statuses for bad input, cancellation when a client goes
# away, two sequences generating at once, and 503 when the queue is full.
. "$(dirname "$0")/lib.sh"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  SERVER_PID=
}
BG_PIDS=()
cleanup() {
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  stop_server
  if [ "$failures" -ne 0 ] && [ -f "$TMP/serve.err" ]; then echo "server stderr:"; tail -n 20 "$TMP/serve.err"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# jq-like: jexpr EXPR < json (d is the document)
jexpr() { $PY -c 'import sys,json; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1"; }
# The concatenated text of an NDJSON stream: ndtext FIELD-PATH < stream
ndtext() { $PY -c '
import sys,json
out=[]
for l in sys.stdin:
    if l.strip():
        d=json.loads(l)
        v=eval(sys.argv[1])
        out.append(v or "")
sys.stdout.write("".join(out))' "$1"; }
# The concatenated delta content of an SSE stream.
ssetext() { $PY -c '
import sys,json
out=[]
for l in sys.stdin:
    l=l.strip()
    if l.startswith("data: ") and l != "data: [DONE]":
        d=json.loads(l[6:])
        for c in d["choices"]:
            out.append(c["delta"].get("content") or "")
sys.stdout.write("".join(out))'; }

# --- models: a small generated one, and a slower one for long generations ---
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-qwen2 -o "$TMP/tiny.gguf"
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-qwen2 --embd 512 --layers 8 --ff 1536 --heads 8 \
  --kv-heads 2 --ctx 4096 --ftype Q8_0 -o "$TMP/slow.gguf"
MODELS=(--model "$TMP/tiny.gguf" --model "$TMP/slow.gguf")
STORIES="$SHARED/models/stories260K.gguf"
if [ -f "$STORIES" ]; then MODELS+=(--model "$STORIES"); else echo "SKIP: stories260K checks ($SHARED absent)"; fi

# --- start the server (a port taken meanwhile: try another) ---
# One compute thread per sequence: the two sequences of --parallel 2 then
# run side by side, and the timing stays sane on a loaded two-core machine.
LOG="$TMP/access.log"
for attempt in 1 2 3; do
  PORT=$(free_port)
  "$CCAI" serve "${MODELS[@]}" --listen "127.0.0.1:$PORT" --state-dir "$TMP/s" --tee sim \
    --auth off --parallel 2 --queue 1 --threads 1 --max-body 65536 --access-log "$LOG" \
    >"$TMP/serve.out" 2>"$TMP/serve.err" &
  SERVER_PID=$!
  U="https://127.0.0.1:$PORT"
  for _ in $(seq 100); do
    curl -sk --max-time 2 "$U/api/version" >"$TMP/ver" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && break
  SERVER_PID=
done
[ -n "$SERVER_PID" ] || { echo "FAIL: the server did not start"; cat "$TMP/serve.err"; exit 1; }
expect_eq "$(jexpr 'd["version"]' <"$TMP/ver")" "0.6.0" "/api/version"

# post PATH BODY: the body in $TMP/body, headers in $TMP/hdr, status in $CODE.
post() { CODE=$(curl -sk --max-time 60 -D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' "$U$1" \
  -H 'Content-Type: application/json' --data-binary "$2"); BODY=$(cat "$TMP/body"); }
get() { CODE=$(curl -sk --max-time 60 -D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' "$@"); BODY=$(cat "$TMP/body"); }

# --- stories260K: the exact greedy continuation (llm-facts §7) ---
if [ -f "$STORIES" ]; then
  WANT=", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high."
  GREEDY='"options":{"temperature":0,"num_predict":57}'
  post /api/generate '{"model":"stories260K","prompt":"Once upon a time","raw":true,'"$GREEDY"'}'
  expect_eq "$CODE" 200 "generate stream status"
  expect_contains "$(cat "$TMP/hdr")" "application/x-ndjson" "NDJSON content type"
  expect_eq "$(ndtext 'd.get("response")' <"$TMP/body")" "$WANT" "streamed continuation"
  LAST=$(tail -n 1 "$TMP/body")
  expect_eq "$(jexpr '[d["done"], d["done_reason"], d["eval_count"], d["prompt_eval_count"]]' <<<"$LAST")" \
    '[true, "length", 57, 5]' "final chunk"
  expect_eq "$(jexpr 'all(d[k] > 0 for k in ("total_duration","load_duration","prompt_eval_duration","eval_duration"))' <<<"$LAST")" \
    true "durations in nanoseconds"
  expect_eq "$(head -n 1 "$TMP/body" | jexpr 'bool(__import__("re").match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", d["created_at"])) and d["done"] is False and d["model"] == "stories260K"')" \
    true "chunk shape (RFC 3339 created_at)"

  post /api/generate '{"model":"stories260K","prompt":"Once upon a time","raw":true,"stream":false,'"$GREEDY"'}'
  expect_eq "$(jexpr 'd["response"]' <"$TMP/body")" "$WANT" "stream:false continuation"
  expect_eq "$(jexpr '[d["done"], d["done_reason"], d["eval_count"], d["total_duration"] > d["eval_duration"] > 0]' <"$TMP/body")" \
    '[true, "length", 57, true]' "stream:false stats"

  # stories260K has no chat template: the conversation is its content.
  post /api/chat '{"model":"stories260K","messages":[{"role":"user","content":"Once upon a time"}],'"$GREEDY"'}'
  expect_eq "$(ndtext 'd["message"]["content"]' <"$TMP/body")" "$WANT" "chat stream"
  expect_eq "$(tail -n 1 "$TMP/body" | jexpr '[d["done"], d["message"]["role"], d["eval_count"]]')" \
    '[true, "assistant", 57]' "chat final chunk"
  post /api/chat '{"model":"stories260K:latest","stream":false,"messages":[{"role":"user","content":"Once upon a time"}],'"$GREEDY"'}'
  expect_eq "$(jexpr 'd["message"]["content"]' <"$TMP/body")" "$WANT" "chat stream:false"

  OAI='{"model":"stories260K","messages":[{"role":"user","content":"Once upon a time"}],"temperature":0,"max_tokens":57'
  post /v1/chat/completions "$OAI}"
  expect_eq "$(jexpr '[d["object"], d["id"][:9], d["choices"][0]["message"]["role"], d["choices"][0]["finish_reason"], d["usage"]]' <"$TMP/body")" \
    '["chat.completion", "chatcmpl-", "assistant", "length", {"prompt_tokens": 5, "completion_tokens": 57, "total_tokens": 62}]' "OpenAI completion"
  expect_eq "$(jexpr 'd["choices"][0]["message"]["content"]' <"$TMP/body")" "$WANT" "OpenAI content"
  post /v1/chat/completions "$OAI"',"stream":true,"stream_options":{"include_usage":true}}'
  expect_contains "$(cat "$TMP/hdr")" "text/event-stream" "SSE content type"
  expect_eq "$(ssetext <"$TMP/body")" "$WANT" "OpenAI stream content"
  expect_eq "$(grep '^data: ' "$TMP/body" | tail -n 1)" "data: [DONE]" "stream ends with [DONE]"
  expect_eq "$(grep '^data: {' "$TMP/body" | head -n 1 | cut -c7- | jexpr 'd["choices"][0]["delta"]["role"]')" "assistant" "first delta has the role"
  expect_eq "$(grep '^data: {' "$TMP/body" | tail -n 2 | head -n 1 | cut -c7- | jexpr '[d["object"], d["choices"][0]["finish_reason"]]')" \
    '["chat.completion.chunk", "length"]' "finish_reason chunk"
  expect_eq "$(grep '^data: {' "$TMP/body" | tail -n 1 | cut -c7- | jexpr '[d["choices"], d["usage"]["completion_tokens"]]')" \
    '[[], 57]' "usage chunk"
  # Stop strings end the text before them.
  post /api/generate '{"model":"stories260K","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":57,"stop":["Lily"]}}'
  expect_eq "$(jexpr '[d["response"], d["done_reason"]]' <"$TMP/body")" '[", there was a little girl named ", "stop"]' "stop string"
  # /api/show of a llama model
  post /api/show '{"model":"stories260K"}'
  expect_eq "$(jexpr '[d["details"]["format"], d["model_info"]["general.architecture"], d["capabilities"]]' <"$TMP/body")" \
    '["gguf", "llama", ["completion"]]' "/api/show"
fi

# --- generated model: shapes, the model registry ---
post /api/chat '{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":8,"seed":3,"temperature":0.9}}'
expect_eq "$CODE" 200 "chat on a generated model"
A=$(jexpr 'd["message"]["content"]' <"$TMP/body")
post /api/chat '{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":8,"seed":3,"temperature":0.9}}'
expect_eq "$(jexpr 'd["message"]["content"]' <"$TMP/body")" "$A" "a seed reproduces"
post /api/generate '{"model":"tiny","prompt":""}'
expect_eq "$(jexpr '[d["done"], d["done_reason"]]' <"$TMP/body")" '[true, "load"]' "empty prompt loads"

get "$U/api/tags"
expect_eq "$CODE" 200 "/api/tags"
expect_eq "$(jexpr '[m["digest"] for m in d["models"] if m["name"] == "tiny:latest"][0]' <"$TMP/body")" \
  "$(sha256sum "$TMP/tiny.gguf" | cut -d' ' -f1)" "tags digest = sha256 of the file"
expect_eq "$(jexpr '[m for m in d["models"] if m["name"] == "tiny:latest"][0]["details"]["format"]' <"$TMP/body")" gguf "tags details"
get "$U/api/ps"
expect_eq "$(jexpr 'sorted(m["name"] for m in d["models"] if "stories" not in m["name"])' <"$TMP/body")" '["slow:latest", "tiny:latest"]' "/api/ps"
expect_eq "$(jexpr 'd["models"][0]["size_vram"]' <"$TMP/body")" 0 "/api/ps size_vram"
post /api/show '{"name":"tiny"}'
expect_eq "$(jexpr '[d["model_info"]["general.architecture"], d["model_info"]["qwen2.context_length"], "im_start" in d["template"]]' <"$TMP/body")" \
  '["qwen2", 512, true]' "/api/show model_info and template"
get "$U/v1/models"
expect_eq "$(jexpr '[d["object"], sorted(m["id"] for m in d["data"] if "stories" not in m["id"]), d["data"][0]["owned_by"]]' <"$TMP/body")" \
  '["list", ["slow:latest", "tiny:latest"], "ccai"]' "/v1/models"
get "$U/v1/models/tiny:latest"
expect_eq "$(jexpr 'd["id"]' <"$TMP/body")" "tiny:latest" "/v1/models/{id}"

# --- bad input: the exact status, a JSON error, and the server stays up ---
bad() { # WANT PATH BODY WHAT
  post "$2" "$3"
  expect_eq "$CODE" "$1" "$4 (status)"
  [ -n "$(jexpr 'd["error"]' <"$TMP/body" 2>/dev/null)" ] && pass || fail "$4: no JSON error: $BODY"
}
bad 400 /api/generate '{"model":"tiny","prompt":' "malformed JSON"
bad 400 /api/generate '[1,2]' "not an object"
bad 400 /api/generate '{"model":"tiny","prompt":5}' "prompt of the wrong type"
bad 400 /api/generate '{"model":"tiny","prompt":"x","options":{"temperature":"hot"}}' "option of the wrong type"
bad 400 /api/generate '{"model":"tiny","prompt":"x","stream":"yes"}' "stream of the wrong type"
bad 404 /api/generate '{"model":"nope","prompt":"x"}' "unknown model"
expect_eq "$(jexpr 'd["error"]' <"$TMP/body")" "model 'nope' not found" "unknown model message"
bad 400 /api/generate '{"prompt":"x"}' "missing model"
bad 400 /api/generate '{"model":"tiny","prompt":"x","format":{"type":"object"}}' "JSON schema format"
bad 400 /api/chat '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}' "tools"
expect_eq "$(jexpr 'd["error"]' <"$TMP/body")" "tools are not supported" "tools message"
bad 400 /api/chat '{"model":"tiny","messages":[{"role":"user","content":"hi","images":["aGk="]}]}' "images"
bad 400 /api/chat '{"model":"tiny","messages":"hi"}' "messages not an array"
bad 400 /api/chat '{"model":"tiny","messages":[{"content":"hi"}]}' "message without a role"
bad 404 /api/show '{"model":"nope"}' "show unknown model"
bad 400 /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"n":2}' "OpenAI n=2"
expect_eq "$(jexpr '[d["error"]["type"], d["error"]["param"]]' <"$TMP/body")" '["invalid_request_error", "n"]' "OpenAI error shape"
bad 404 /v1/chat/completions '{"model":"nope","messages":[{"role":"user","content":"hi"}]}' "OpenAI unknown model"
expect_eq "$(jexpr 'd["error"]["code"]' <"$TMP/body")" "model_not_found" "OpenAI model_not_found"
bad 400 /v1/chat/completions '{"model":"tiny","messages":[]}' "OpenAI empty messages"
bad 400 /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"temperature":"x"}' "OpenAI wrong type"
bad 400 /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}' "OpenAI image part"
bad 400 /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}' "OpenAI tools"
$PY -c 'import json; print(json.dumps({"model":"tiny","prompt":"x"*70000}))' >"$TMP/big.json"
CODE=$(curl -sk -o /dev/null -w '%{http_code}' "$U/api/generate" --data-binary @"$TMP/big.json")
expect_eq "$CODE" 413 "body over the limit"
get "$U/api/generate"
expect_eq "$CODE" 405 "GET on a POST route"
get "$U/api/version"
expect_eq "$CODE" 200 "still up after bad input"

# --- a client that goes away mid-stream cancels its generation ---
# (~4096 tokens would take the slow model tens of seconds)
LONG='"options":{"temperature":0,"num_predict":100000}'
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
curl -sk -N --max-time 60 "$U/api/generate" -d '{"model":"slow","prompt":"go","raw":true,'"$LONG"'}' >"$TMP/cut" 2>/dev/null &
CUT=$!; BG_PIDS+=($CUT)
for _ in $(seq 300); do [ "$(lines "$TMP/cut")" -ge 3 ] && break; sleep 0.1; done
[ "$(lines "$TMP/cut")" -ge 3 ] && pass || fail "the long stream did not begin"
kill "$CUT"; wait "$CUT" 2>/dev/null
t0=$(date +%s.%N)
for _ in $(seq 100); do grep -q '"status":499' "$LOG" && break; sleep 0.1; done
LINE=$(grep '"status":499' "$LOG" | tail -n 1)
expect_contains "$LINE" '"path":"/api/generate"' "cancelled request logged as 499"
[ -n "$LINE" ] && [ "$(jexpr 'd["eval_tokens"] < 4000' <<<"$LINE")" = true ] && pass || fail "generation cancelled early: $LINE"
post /api/generate '{"model":"tiny","prompt":"hi","raw":true,"stream":false,"options":{"num_predict":4}}'
expect_eq "$CODE" 200 "responsive after a disconnect"
elapsed=$($PY -c "import time; print(int(time.time() - $t0))")
[ "$elapsed" -lt 10 ] && pass || fail "the cancelled generation held the server ($elapsed s)"

# --- --parallel 2: two long chats progress together; the queue (1) then overflows ---
chat_bg() { curl -sk -N --max-time 120 "$U/api/chat" -d '{"model":"slow","messages":[{"role":"user","content":"'"$1"'"}],'"$LONG"'}' >"$TMP/$1" 2>/dev/null & BG_PIDS+=($!); }
chat_bg one; chat_bg two
both=0
for _ in $(seq 300); do
  if [ "$(lines "$TMP/one")" -ge 3 ] && [ "$(lines "$TMP/two")" -ge 3 ]; then both=1; break; fi
  sleep 0.1
done
expect_eq "$both" 1 "both streams progress"
! grep -q '"done":true' "$TMP/one" "$TMP/two" && pass || fail "a long generation ended early"
chat_bg three   # waits in the queue
for _ in $(seq 100); do
  get "$U/api/ps"; [ "$(jexpr 'd["ccai"]["queued"]' <"$TMP/body")" = 1 ] && break; sleep 0.1
done
expect_eq "$(jexpr '[d["ccai"]["running"], d["ccai"]["queued"]]' <"$TMP/body")" '[2, 1]' "two running, one queued"
post /api/chat '{"model":"slow","messages":[{"role":"user","content":"four"}]}'
expect_eq "$CODE" 503 "queue full"
expect_contains "$(tr -d '\r' <"$TMP/hdr")" "Retry-After: 1" "Retry-After"
expect_eq "$(jexpr 'd["error"]' <"$TMP/body")" "server busy: 2 requests running and 1 queued" "busy message"
post /v1/chat/completions '{"model":"slow","messages":[{"role":"user","content":"five"}]}'
expect_eq "$CODE" 503 "queue full (OpenAI)"
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
BG_PIDS=()
for _ in $(seq 100); do
  get "$U/api/ps"; [ "$(jexpr 'd["ccai"]["running"] + d["ccai"]["queued"]' <"$TMP/body")" = 0 ] && break; sleep 0.1
done
expect_eq "$(jexpr 'd["ccai"]["running"] + d["ccai"]["queued"]' <"$TMP/body")" 0 "all cancelled when the clients left"

# --- the access log has counts, never text ---
grep -q 'Once upon\|be brief\|"hi"' "$LOG" && fail "the access log holds prompt text" || pass
expect_contains "$(cat "$LOG")" '"path":"/api/chat","status":200' "chats in the access log"
expect_contains "$(cat "$LOG")" '"eval_tokens":' "token counts in the access log"

# --- graceful stop ---
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; rc=$?; SERVER_PID=
expect_eq "$rc" 0 "server exits 0 on SIGTERM"
finish
