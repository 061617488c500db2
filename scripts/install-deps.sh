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
  openssl xxd python3 python3-cryptography
  unicode-data
)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" for a present package.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
