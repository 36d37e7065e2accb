#!/usr/bin/env bash
# Installs the Debian packages quipu needs to build, test and benchmark.
# Idempotent: asks dpkg what is missing and runs apt-get only for that;
# `apt-get update` runs only when something is missing. When not root and
# something is missing, prints the exact command and exits non-zero.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries (see README, "Dependencies")
  libssl-dev libsodium-dev liblmdb-dev libboost-dev nlohmann-json3-dev
  libpodofo-dev libseccomp-dev libcjose-dev libjansson-dev libqrencode-dev libpng-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  # independent tools the tests compare against
  lmdb-utils oathtool zbar-tools poppler-utils curl nodejs chromium golang-go golang-golang-x-mod-dev
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx-light hyperfine bc python3)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang libclang-rt-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# npm builds the verification page. Debian's nodejs needs the separate npm
# package; a nodejs that bundles npm (NodeSource) conflicts with it.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "quipu: missing Debian packages: ${missing[*]}" >&2
  echo "run as root:  sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "quipu: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
