#!/usr/bin/env bash
# Fuzzing as a habit: builds quipu's libFuzzer targets with clang (in
# build-fuzz/) and runs each for SECONDS (60) against its corpus in
# tests/fuzz/corpus/<target>/, then reports what was found.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]     targets: jcs entry text http worker federation pdf
#   make fuzz                               the same, 60 s each
#
# Every crash input is copied into tests/fuzz/corpus/<target>/, where ctest
# replays it from then on (fuzz.<target>.corpus; the pdf corpus through the
# sandbox, tests/cli). For every target but pdf a crash is a bug in quipu:
# the script exits 1 and the replay test fails until it is fixed. The pdf
# target runs PoDoFo in-process, so it finds PoDoFo's crashes: each one is
# checked to be contained by the sandbox (`quipu hash` answers exit 2) and
# kept; one that is not contained is a bug (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(jcs entry text http worker federation pdf)

scripts/install-deps.sh --fuzz
cmake -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQUIPU_FUZZ=ON \
  -DQUIPU_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target "${targets[@]/%/_fuzz}"
# The sandboxed parser that must contain what the pdf target finds.
cmake --preset default >/dev/null
cmake --build --preset default --target quipu

bugs=0
printf '%-8s %12s %10s %8s  %s\n' target execs corpus crashes notes
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  artifacts=build-fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/"
        -print_final_stats=1)
  case $t in
    pdf) opts+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_len=65536) ;;
    http | worker) opts+=(-max_len=16384) ;;
    *) opts+=(-max_len=4096) ;;
  esac
  set +e
  "build-fuzz/tests/fuzz/${t}_fuzz" "${opts[@]}" "$work" "tests/fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1
  set -e
  # Executions: the final stats line, or (fork mode) the last progress line.
  execs=$( (grep -ao 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$t.log" || true) | awk '{s+=$2} END {print s+0}')
  if [[ $execs == 0 ]]; then
    execs=$( (grep -aoE '^#[0-9]+' "build-fuzz/$t.log" || true) | tail -1 | tr -d '#')
  fi
  found=0
  notes=""
  for f in "$artifacts"/crash-* "$artifacts"/oom-* "$artifacts"/timeout-* "$artifacts"/leak-*; do
    [[ -e $f ]] || continue
    # A corpus input that still crashes (the pdf seeds do, in PoDoFo) is
    # known already: not new.
    known=""
    for c in "tests/fuzz/corpus/$t"/*; do cmp -s "$f" "$c" && known=$c && break; done
    if [[ -n $known ]]; then
      rm -f "$f"
      continue
    fi
    found=$((found + 1))
    name="found-$(basename "$f")"
    cp "$f" "tests/fuzz/corpus/$t/$name"
    if [[ $t == pdf ]]; then
      set +e
      build/quipu hash --type pdf "$f" >/dev/null 2>&1
      rc=$?
      set -e
      if [[ $rc -ne 0 && $rc -ne 2 ]]; then
        notes+=" NOT CONTAINED: $name (exit $rc)"
        bugs=$((bugs + 1))
      fi
    else
      notes+=" BUG: $name"
      bugs=$((bugs + 1))
    fi
    rm -f "$f"
  done
  [[ $t == pdf && $found -gt 0 && -z $notes ]] && notes="PoDoFo crashes, all contained by the sandbox; kept in the corpus"
  printf '%-8s %12s %10s %8s  %s\n' "$t" "$execs" "$(ls "$work" | wc -l)" "$found" "$notes"
done
if [[ $bugs -gt 0 ]]; then
  echo "fuzz: $bugs input(s) that quipu does not handle were copied into tests/fuzz/corpus/; fix them (ctest replays them)" >&2
  exit 1
fi
