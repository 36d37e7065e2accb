#!/usr/bin/env bash
# `quipu hash --type raw` against `openssl dgst -sha256` on the same file
# (1 GiB by default), run alternately ROUNDS times each; prints both medians
# and the ratio quipu/openssl (issue target: <= 1.05), after checking that
# both computed the same digest.
#
#   bench/compare-hash.sh               # 1 GiB, 5 rounds
#   SIZE_MB=256 ROUNDS=3 bench/compare-hash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
QUIPU=${QUIPU:-build/quipu}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-5}
DIR=${BENCH_DIR:-build/bench-data}
mkdir -p "$DIR"
[[ -x "$QUIPU" ]] || { echo "build first: make build" >&2; exit 1; }
file="$DIR/hash-${SIZE_MB}m.bin"
if [[ ! -s "$file" ]] || (( $(stat -c %s "$file") != SIZE_MB * 1048576 )); then
  head -c $((SIZE_MB * 1048576)) /dev/urandom >"$file"
fi
cat "$file" >/dev/null  # both contenders read from the page cache

seconds() {  # runs "$@" with stdout to $out, prints the wall time
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$out"
  t1=$(date +%s%N)
  echo $(( t1 - t0 ))
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
q_times=() o_times=()
for ((r = 1; r <= ROUNDS; r++)); do
  q_times+=("$(seconds "$QUIPU" hash --type raw "$file")")
  q_digest=$(cut -c1-64 "$out")
  o_times+=("$(seconds openssl dgst -sha256 -r "$file")")
  o_digest=$(cut -c1-64 "$out")
  if [[ "$q_digest" != "$o_digest" ]]; then
    echo "digests differ: quipu $q_digest, openssl $o_digest" >&2
    exit 1
  fi
  printf 'round %d: quipu %.3f s, openssl %.3f s\n' "$r" "${q_times[-1]}e-9" "${o_times[-1]}e-9"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
q=$(median "${q_times[@]}")
o=$(median "${o_times[@]}")
awk -v q="$q" -v o="$o" -v mb="$SIZE_MB" 'BEGIN {
  printf "median: quipu %.3f s (%.0f MB/s), openssl %.3f s (%.0f MB/s); ratio quipu/openssl %.3f  (%d MiB)\n",
         q/1e9, mb*1.048576/(q/1e9), o/1e9, mb*1.048576/(o/1e9), q/o, mb }'
