#!/usr/bin/env bash
# Durable batched append: `quipu log append` against the same entry bytes
# written straight into LMDB (bench/lmdb_ceiling.cpp), same batch size and
# sync, run alternately ROUNDS times each. Prints both median rates and the
# ratio quipu/ceiling (issue target: >= 0.5, and >= 200,000 entries/s).
#
#   bench/compare-ledger.sh            # 200,000 entries, batch 1024, sync full
#   N=1000000 BATCH=16384 SYNC=none ROUNDS=3 bench/compare-ledger.sh
set -euo pipefail
cd "$(dirname "$0")/.."
QUIPU=${QUIPU:-build/quipu}
CEILING=${CEILING:-build/bench/lmdb_ceiling}
N=${N:-200000}
BATCH=${BATCH:-1024}
SYNC=${SYNC:-full}
ROUNDS=${ROUNDS:-3}
WORK=${BENCH_DIR:-build/bench-data}/ledger
mkdir -p "$WORK"
[[ -x "$QUIPU" && -x "$CEILING" ]] || { echo "build first: make build" >&2; exit 1; }

entries="$WORK/entries-$N.jsonl"
if [[ ! -s "$entries" ]]; then
  python3 - "$N" >"$entries" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
for i in range(n):
    h = hashlib.sha256(str(i).encode()).hexdigest()
    s = hashlib.sha256(b"s" + str(i).encode()).hexdigest()
    print('{"client":"c_bench","doc":{"media_type":"application/pdf","sha256":"%s"},'
          '"request":"r_%d","subject":"%s","type":"approval"}' % (h, i, s))
PY
fi

now() { date +%s.%N; }
quipu_rates=() ceiling_rates=() grouped_rates=()
for ((r = 1; r <= ROUNDS; r++)); do
  rm -rf "$WORK/q" "$WORK/c"
  "$QUIPU" log init --data "$WORK/q" >/dev/null
  t0=$(now)
  "$QUIPU" log append --quiet --batch "$BATCH" --sync "$SYNC" --data "$WORK/q" <"$entries"
  t1=$(now)
  quipu_rates+=("$(echo "$N / ($t1 - $t0)" | bc -l)")
  line=$("$CEILING" --batch "$BATCH" --sync "$SYNC" "$entries" "$WORK/c")
  ceiling_rates+=("$(echo "$line" | awk '{print $(NF-1)}')")
  # The ceiling again with commits as large as the sequencer's largest.
  rm -rf "$WORK/c"
  line=$("$CEILING" --batch 16384 --sync "$SYNC" "$entries" "$WORK/c")
  grouped_rates+=("$(echo "$line" | awk '{print $(NF-1)}')")
  printf 'round %d: quipu %.0f entries/s, lmdb ceiling %.0f entries/s\n' "$r" "${quipu_rates[-1]}" "${ceiling_rates[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
q=$(median "${quipu_rates[@]}")
c=$(median "${ceiling_rates[@]}")
printf 'median: quipu log append %.0f entries/s; raw LMDB %.0f entries/s; ratio %.3f  (N=%d batch=%d sync=%s)\n' \
  "$q" "$c" "$(echo "$q / $c" | bc -l)" "$N" "$BATCH" "$SYNC"
# The last round's ledger must audit clean; its block count says how the
# sequencer grouped the requests (log append keeps several in flight, and a
# commit takes everything waiting, up to 16,384 entries).
report=$("$QUIPU" audit --json --data "$WORK/q")
blocks=$(echo "$report" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["ok"], r; print(r["blocks"])')
g=$(median "${grouped_rates[@]}")
printf 'quipu: audit clean; %d entries in %d commits (%.0f a commit); the ceiling commits every %d\n' \
  "$N" "$blocks" "$(echo "$N / $blocks" | bc -l)" "$BATCH"
printf 'raw LMDB committing every 16384: %.0f entries/s; quipu / that %.3f\n' "$g" "$(echo "$q / $g" | bc -l)"
rm -rf "$WORK/q" "$WORK/c"
