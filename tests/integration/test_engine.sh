#!/usr/bin/env bash
# The engine from the command line: `ccai tokenize`, `ccai run` (raw
# completion, one chat turn, interactive chat) and `ccai dev mkmodel`.
. "$(dirname "$0")/lib.sh"

# --- generated models: deterministic files, runnable in every weight type ---
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-llama --ftype Q8_0 --seed 7 -o "$TMP/a.gguf"
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-llama --ftype Q8_0 --seed 7 -o "$TMP/b.gguf"
expect_eq "$(sha256sum < "$TMP/a.gguf")" "$(sha256sum < "$TMP/b.gguf")" "same seed, same file"
expect_rc 0 "$CCAI" dev mkmodel --preset tiny-llama --ftype Q8_0 --seed 8 -o "$TMP/c.gguf"
[ "$(sha256sum < "$TMP/a.gguf")" != "$(sha256sum < "$TMP/c.gguf")" ] && pass || fail "another seed, another file"
expect_rc 0 "$CCAI" dev mkmodel --list && expect_contains "$OUT" "qwen2-1.5b" "presets"
expect_rc 2 "$CCAI" dev mkmodel --preset no-such -o "$TMP/x.gguf"
expect_rc 2 "$CCAI" dev mkmodel --preset tiny-llama
expect_contains "$ERR" "missing -o FILE" "mkmodel without -o"
for ft in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M; do
  expect_rc 0 "$CCAI" dev mkmodel --preset tiny-qwen2 --ftype $ft -o "$TMP/q-$ft.gguf"
  expect_rc 0 "$CCAI" run "$TMP/q-$ft.gguf" "hello" --raw --temp 0 -n 4
done

# --- every kernel back end gives the scalar reference's greedy tokens ---
KERNELS=$("$CCAI" run "$TMP/q-F32.gguf" x --kernels nonesuch 2>&1 | grep -o 'available: auto, [a-z0-9, ]*' | sed 's/available: auto, //' | tr -d ',')
for ft in F32 Q8_0 Q4_0 Q4_K_M; do
  "$CCAI" dev mkmodel --preset tiny-llama --ftype $ft --seed 3 -o "$TMP/k-$ft.gguf" 2>/dev/null
  want=$("$CCAI" run "$TMP/k-$ft.gguf" "The quick brown fox" --raw --temp 0 -n 32 --kernels scalar | od -An -tx1)
  for k in $KERNELS; do
    got=$("$CCAI" run "$TMP/k-$ft.gguf" "The quick brown fox" --raw --temp 0 -n 32 --kernels $k | od -An -tx1)
    expect_eq "$got" "$want" "greedy tokens with --kernels $k ($ft) equal scalar's"
  done
done

# --- sampling: a seed reproduces, a temperature of 0 is greedy ---
M="$TMP/q-F32.gguf"
expect_rc 0 "$CCAI" run "$M" "hi" --raw --temp 1.5 --seed 42 -n 16; A=$OUT
expect_rc 0 "$CCAI" run "$M" "hi" --raw --temp 1.5 --seed 42 -n 16
expect_eq "$OUT" "$A" "same seed, same output"
expect_rc 0 "$CCAI" run "$M" "hi" --raw --temp 0 -n 16 --verbose
expect_contains "$ERR" "generation:       16 tokens" "verbose stats"
expect_contains "$ERR" "chat format chatml" "chat format recognised"

# --- usage and bad input ---
expect_rc 2 "$CCAI" run
expect_rc 2 "$CCAI" run "$M" hi --temp hot
expect_contains "$ERR" "bad value 'hot' for --temp" "bad temperature"
expect_rc 2 "$CCAI" run "$M" hi --frobnicate
expect_rc 1 "$CCAI" run "$TMP/missing.gguf" hi
expect_contains "$ERR" "No such file" "missing model"
printf 'GGUF\003\000\000\000garbage' > "$TMP/bad.gguf"
expect_rc 1 "$CCAI" run "$TMP/bad.gguf" hi
expect_contains "$ERR" "gguf" "bad model names the format"
expect_rc 1 "$CCAI" tokenize "$TMP/bad.gguf" hi
expect_rc 2 "$CCAI" tokenize
expect_rc 2 "$CCAI" run "$M" hi --template klingon

# --- interactive chat: /clear and /bye ---
printf 'hello\n/clear\nagain\n/bye\nnot read\n' | "$CCAI" run "$M" -n 4 --temp 0 >"$TMP/chat" 2>&1
expect_eq "$?" "0" "interactive chat exits 0 on /bye"
expect_contains "$(cat "$TMP/chat")" "Cleared session context" "/clear"

# --- ccai bench: the report's parameters, --depth, bad values ---
B="$TMP/q-Q8_0.gguf"
expect_rc 0 "$CCAI" bench "$B" --quick --threads 2 -p 8 -n 4 -d 20 -r 1 --json
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["n_prompt"], d["n_gen"], d["n_depth"], d["kv_positions"], d["threads"])')" \
  "8 4 20 22.5 2" "bench --json: -p, -n, -d and the KV positions they give"
expect_rc 0 "$CCAI" bench "$B" --quick -p 8 -n 4 --depth 12 -r 1
expect_contains "$OUT" "generate (tg4@d12)" "bench table: generation at its depth"
expect_contains "$OUT" "KV at 14.5 positions" "bench table: the KV positions"
expect_rc 0 "$CCAI" bench "$B" --quick -p 8 -n 4 -r 1 --json
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["n_depth"])')" "4" "bench: depth 4 by default"
expect_rc 2 "$CCAI" bench "$B" -d 0
expect_contains "$ERR" "bad value '0' for -d" "bench -d 0"
expect_rc 2 "$CCAI" bench "$B" --depth many
expect_contains "$ERR" "bad value 'many' for --depth" "bench --depth many"
expect_rc 2 "$CCAI" bench "$B" -n 70000
expect_contains "$ERR" "bad value '70000' for -n" "bench -n too large"
expect_rc 2 "$CCAI" bench
expect_contains "$ERR" "missing the MODEL file" "bench without a model"
expect_rc 1 "$CCAI" bench "$TMP/bad.gguf" --quick
expect_contains "$ERR" "gguf" "bench on a bad file names the format"

# --- the real tiny model (shared) ---
if have_shared; then
  S="$SHARED/models/stories260K.gguf"
  expect_rc 0 "$CCAI" tokenize "$S" --bos "Once upon a time, there was a little girl named Lily."
  expect_eq "$OUT" "1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426" "stories260K tokens"
  expect_eq "$(printf 'Once upon' | "$CCAI" tokenize "$S")" "403 407" "tokenize from stdin"
  expect_eq "$(printf 'Once upon' | "$CCAI" tokenize "$S" -)" "403 407" "tokenize -"
  expect_rc 0 "$CCAI" tokenize "$S" --pieces "Once upon"
  expect_eq "$OUT" "$(printf "403 ' Once'\n407 ' upon'")" "tokenize --pieces"
  # The greedy continuation of llm-facts §7 takes 57 generated tokens.
  expect_rc 0 "$CCAI" run "$S" "Once upon a time" --raw --temp 0 -n 57
  expect_eq "$OUT" "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high." "stories260K greedy"
  expect_rc 0 "$CCAI" run "$S" "Once upon a time" --raw --temp 0 -n 5 --kernels scalar
  expect_eq "$OUT" "Once upon a time, there was a little" "stories260K -n 5"
  expect_rc 2 "$CCAI" run "$S" "x" --kernels nonesuch
else
  echo "skipped: stories260K checks (../shared absent)"
fi
finish
