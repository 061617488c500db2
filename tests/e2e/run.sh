#!/usr/bin/env bash
# Runs the web UI's tests (docs/webui.md "Tests"), or skips with 77 and the
# reason when something they need is absent.
#   run.sh unit               node --test of the token/nonce module
#   run.sh browser CCAI_BIN   playwright-core + Debian chromium against a real ccai serve
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }
command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh)"
case "${1:-}" in
unit)
  exec node --test --test-reporter=spec "$here/unit/" ;;
browser)
  bin=${2:-}
  [ -x "$bin" ] || skip "no ccai binary given"
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || skip "playwright-core needs Node.js 20 or later, found $(node --version)"
  [ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is not installed (scripts/install-deps.sh)"
  [ -f "$src/web/node_modules/playwright-core/package.json" ] || skip "web/node_modules is missing (npm ci in web/, or scripts/install-deps.sh)"
  shared=${CCAI_SHARED_DIR:-$src/../shared}
  [ -f "$shared/models/stories260K.gguf" ] || skip "$shared/models/stories260K.gguf is absent"
  command -v openssl >/dev/null || skip "openssl is not installed"
  # playwright-core resolves from web/node_modules: run from there.
  cd "$src/web" || exit 1
  CCAI_BIN=$bin CCAI_SHARED_DIR=$shared exec node --test --test-reporter=spec --test-timeout=120000 \
    "$here/browser.test.mjs" ;;
*)
  echo "usage: run.sh unit | browser CCAI_BIN" >&2; exit 2 ;;
esac
