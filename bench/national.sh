#!/usr/bin/env bash
# Bolivia's whole history in one run (issue 18): N approval entries
# (default 31,224,740, all approvals to date; N= for fewer) generated, then
#   1. durable ingest through `quipu log append` (batch 16384, sync full),
#   2. the raw-LMDB ceiling on the same entry bytes (bench/lmdb_ceiling),
#   3. `quipu audit` of the ingested ledger, local and over HTTP (the node
#      serving it on 127.0.0.1, C2SP tiles), and the HTTP audit resumed,
#   4. the ledger's bytes per entry against the canonical entry bytes, and
#      what each table costs per entry (mdb_stat),
# with wall time and peak RSS of each step, and each ratio. Needs about
# 1.2 KB of free disk per entry; cleans up after itself.
#
#   bench/national.sh                 # 31,224,740 entries
#   N=1000000 bench/national.sh       # a smaller run
set -euo pipefail
cd "$(dirname "$0")/.."
QUIPU=${QUIPU:-build/quipu}
CEILING=${CEILING:-build/bench/lmdb_ceiling}
N=${N:-31224740}
BATCH=${BATCH:-16384}
WORK=${BENCH_DIR:-build/bench-data}/national
[[ -x "$QUIPU" && -x "$CEILING" ]] || { echo "build first: make build" >&2; exit 1; }
command -v mdb_stat >/dev/null || { echo "mdb_stat missing: apt-get install lmdb-utils" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
need=$((N * 1200))
free=$(df -B1 --output=avail "$WORK" | tail -1)
if ((free < need)); then
  echo "national: $((need >> 30)) GiB of free disk needed in $WORK, $((free >> 30)) GiB free" >&2
  exit 1
fi

# Runs a command; prints "<seconds> <peak RSS in MiB>" on fd 3.
measured() {
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@"
  read -r secs kb <"$WORK/time"
  echo "$secs $((kb / 1024))" >&3
}

# 0. The entries: approvals as institutions record them, each with its own
# document and subject commitment (SHA-256 of a counter: no two alike).
echo "national: generating $N entries" >&2
python3 - "$N" >"$WORK/entries.jsonl" <<'PY'
import hashlib, sys
n = int(sys.argv[1])
out = sys.stdout
buf = []
for i in range(n):
    h = hashlib.sha256(b"d%d" % i).hexdigest()
    s = hashlib.sha256(b"s%d" % i).hexdigest()
    buf.append('{"client":"c_%012x","doc":{"media_type":"application/pdf","sha256":"%s"},'
               '"request":"r_%020x","subject":"%s","type":"approval"}\n' % (i % 27, h, i, s))
    if len(buf) == 65536:
        out.write("".join(buf)); buf = []
out.write("".join(buf))
PY
input_bytes=$(stat -c %s "$WORK/entries.jsonl")
# Stored, each entry gains "time" (27 characters) and "v" in its RFC 8785
# form: ,"time":"…" is 37 bytes, ,"v":1 six; the newline goes.
canonical=$(( input_bytes - N + 43 * N ))

"$QUIPU" log init --data "$WORK/q" >/dev/null
echo "national: ingest" >&2
read -r ingest_s ingest_mb < <(measured "$QUIPU" log append --quiet --batch "$BATCH" --sync full \
                                 --data "$WORK/q" <"$WORK/entries.jsonl" 3>&1 >/dev/null)
echo "national: raw LMDB ceiling" >&2
read -r ceiling_s ceiling_mb < <(measured "$CEILING" --batch "$BATCH" --sync full "$WORK/entries.jsonl" \
                                   "$WORK/c" 3>&1 >/dev/null)
rm -rf "$WORK/c"
echo "national: audit" >&2
read -r audit_s audit_mb < <(measured sh -c "'$QUIPU' audit --json --data '$WORK/q' > '$WORK/audit.json'" 3>&1)
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["entries"]==int(sys.argv[2]), r' \
  "$WORK/audit.json" "$N"
echo "national: audit over HTTP" >&2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$QUIPU" serve --data "$WORK/q" --listen "127.0.0.1:$port" >"$WORK/serve.out" 2>"$WORK/serve.err" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do grep -q "quipu: serving" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
read -r remote_s remote_mb < <(measured sh -c "'$QUIPU' audit 'http://127.0.0.1:$port/' --json --state '$WORK/audit-state.json' > '$WORK/remote.json'" 3>&1)
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["tree_size"]==int(sys.argv[2]), r' \
  "$WORK/remote.json" "$N"
read -r resumed_s _ < <(measured sh -c "'$QUIPU' audit 'http://127.0.0.1:$port/' --json --state '$WORK/audit-state.json' > '$WORK/resumed.json'" 3>&1)
remote_mib=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["bytes"] / 1048576))' "$WORK/remote.json")
resumed_fetches=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fetches"])' "$WORK/resumed.json")
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
ledger_bytes=$(du -B1 "$WORK/q/ledger.mdb" | cut -f1)

rate() { echo "$N / $1" | bc -l; }
printf '\nquipu national benchmark: %d entries, batch %d, sync full, %d cores\n' "$N" "$BATCH" "$(nproc)"
printf 'ingest (quipu log append)  %8.1f s  %10.0f entries/s  peak RSS %6d MiB\n' "$ingest_s" "$(rate "$ingest_s")" "$ingest_mb"
printf 'raw LMDB ceiling           %8.1f s  %10.0f entries/s  peak RSS %6d MiB\n' "$ceiling_s" "$(rate "$ceiling_s")" "$ceiling_mb"
printf '  ratio ingest / ceiling   %.3f   (target >= 0.8)\n' "$(echo "$ceiling_s / $ingest_s" | bc -l)"
printf 'audit (local)              %8.1f s  %10.0f entries/s  peak RSS %6d MiB   (target >= 1,500,000/s)\n' \
  "$audit_s" "$(rate "$audit_s")" "$audit_mb"
printf 'audit (over HTTP)          %8.1f s  %10.0f entries/s  peak RSS %6d MiB   %d MiB fetched\n' \
  "$remote_s" "$(rate "$remote_s")" "$remote_mb" "$remote_mib"
printf '  ratio HTTP / local audit %.3f   (target >= 0.5)\n' "$(echo "$audit_s / $remote_s" | bc -l)"
printf '  resumed, nothing new     %8.2f s  %d fetches\n' "$resumed_s" "$resumed_fetches"
printf 'ledger.mdb                 %.2f GB, %.0f bytes/entry; canonical entries %.0f bytes/entry; ratio %.2f (target <= 1.3)\n' \
  "$(echo "$ledger_bytes / 1000000000" | bc -l)" "$(echo "$ledger_bytes / $N" | bc -l)" \
  "$(echo "$canonical / $N" | bc -l)" "$(echo "$ledger_bytes / $canonical" | bc -l)"
echo "per table (mdb_stat: branch, leaf and overflow pages x page size / entries):"
page=$(mdb_stat -e -n "$WORK/q/ledger.mdb" | awk '/Page size:/ {print $3}')
mdb_stat -a -n "$WORK/q/ledger.mdb" | awk -v n="$N" -v ps="$page" '
  /^Status of / { name = $3 }
  /Branch pages:/ { b = $3 } /Leaf pages:/ { l = $3 }
  /Overflow pages:/ { o = $3; if (b + l + o > 1) printf "  %-12s %8.1f bytes/entry\n", name, (b + l + o) * ps / n }'
