#!/usr/bin/env bash
# Installs what ccai needs to build, test and run on Debian 12, and nothing
# else. Idempotent and quiet: when everything is present it only checks
# (a fraction of a second) and prints nothing. Uses Debian packages by name.
#
#   scripts/install-deps.sh          build + test + demo dependencies
set -euo pipefail

# Build: compiler, CMake + Ninja, clang for the libFuzzer targets.
# Libraries (blueprint "Choices already made"): OpenSSL 3, jansson, libcurl
# (OpenSSL flavour, for collateral downloads), cmocka.
# Tests: python3 with cryptography checks our output with an independent implementation;
# openssl and xxd are used by the integration tests. unicode-data: the tokenizer's
# Unicode category tables are generated from its UnicodeData.txt at build time.
packages=(
  gcc make cmake ninja-build pkg-config clang
  libssl-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev
  libsqlite3-dev libsodium-dev
  libevent-dev
  openssl xxd curl python3 python3-cryptography
  unicode-data
  chromium
)
# The web UI is bundled by esbuild under Node.js (web/, npm ci below). A
# Node.js from elsewhere (with its own npm) is used as it is; otherwise
# Debian's nodejs and npm.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" for a present package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
# web/node_modules from the committed lock file, when it is missing or older
# than package-lock.json (npm ci reinstalls it whole, from the npm registry).
web_deps() {
  local web
  web="$(cd "$(dirname "$0")/.." && pwd)/web"
  [ -f "$web/package-lock.json" ] || return 0
  if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules" ]; then
    echo "install-deps: npm ci in web/"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/tmp/ccai-npm.log 2>&1) ||
      { echo "install-deps: npm ci failed; see /tmp/ccai-npm.log" >&2; tail -5 /tmp/ccai-npm.log >&2; exit 1; }
    touch "$web/node_modules"
  fi
}
[ ${#missing[@]} -eq 0 ] && { web_deps; exit 0; }

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ccai-apt.log 2>&1; }
if ! apt_install; then
  # A fresh machine may have stale or empty package lists.
  "${sudo[@]}" apt-get update -q >/tmp/ccai-apt-update.log 2>&1 || true
  apt_install || { echo "install-deps: apt-get install failed; see /tmp/ccai-apt.log" >&2; tail -5 /tmp/ccai-apt.log >&2; exit 1; }
fi
web_deps
