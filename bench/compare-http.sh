#!/usr/bin/env bash
# The public read path against nginx: `wrk` on GET /v1/documents/{a known
# hash} from `quipu serve`, and on a static file of the same size from nginx
# (started here on another port), same connections, threads and duration,
# alternately ROUNDS times; prints both median rates and the ratio (issue
# target: >= 0.5). Then POST /v1/verify with a 10 MiB PDF (MB/s, curl).
#
#   bench/compare-http.sh                 # 64 connections, 2 threads, 5 s, 3 rounds
#   CONNS=16 DURATION=10 bench/compare-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
QUIPU=${QUIPU:-build/quipu}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
QPORT=${QPORT:-18480}
NPORT=${NPORT:-18481}
WORK=$(realpath -m "${BENCH_DIR:-build/bench-data}/http")
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool: make deps-bench" >&2; exit 1; }
done
rm -rf "$WORK" && mkdir -p "$WORK/www" "$WORK/nginx"

# A ledger with 10,000 entries; the document looked up has one record.
python3 - >"$WORK/entries.jsonl" <<'PY'
import hashlib
for i in range(10000):
    h = hashlib.sha256(b"doc %d" % i).hexdigest()
    s = hashlib.sha256(b"s %d" % i).hexdigest()
    print('{"client":"c_bench","doc":{"media_type":"application/pdf","sha256":"%s"},"request":"r_%d","subject":"%s","type":"approval"}' % (h, i, s))
PY
doc=$(python3 -c 'import hashlib; print(hashlib.sha256(b"doc 4242").hexdigest())')
"$QUIPU" log init --data "$WORK/data" >/dev/null
"$QUIPU" log append --quiet --sync none --data "$WORK/data" <"$WORK/entries.jsonl"

"$QUIPU" serve --data "$WORK/data" --listen "127.0.0.1:$QPORT" --threads 2 >/dev/null 2>"$WORK/quipu.log" &
qpid=$!
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$NPORT; root $WORK/www; }
}
CONF
trap 'kill $qpid 2>/dev/null || true; nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -s stop 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$QPORT/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$QPORT/v1/documents/$doc" >"$WORK/www/doc.json"
grep -q '"found":true' "$WORK/www/doc.json" || { echo "the document was not found" >&2; exit 1; }
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
sleep 0.3

rate() { wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
q_rates=() n_rates=()
for ((r = 1; r <= ROUNDS; r++)); do
  q_rates+=("$(rate "http://127.0.0.1:$QPORT/v1/documents/$doc")")
  n_rates+=("$(rate "http://127.0.0.1:$NPORT/doc.json")")
  echo "round $r: quipu ${q_rates[-1]} req/s, nginx ${n_rates[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
q=$(median "${q_rates[@]}")
n=$(median "${n_rates[@]}")
size=$(stat -c %s "$WORK/www/doc.json")
awk -v q="$q" -v n="$n" -v s="$size" -v c="$CONNS" 'BEGIN {
  printf "median: GET /v1/documents %.0f req/s; nginx static (%d bytes) %.0f req/s; ratio %.3f  (%d connections)\n", q, s, n, q/n, c }'

# POST /v1/verify with a 10 MiB PDF.

python3 - "$WORK/big.pdf" <<'PY'
import os, sys
payload = os.urandom(10 * 1024 * 1024)
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream"]
out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
offsets = []
for i, o in enumerate(objs):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
PY
best=0
for ((r = 1; r <= 5; r++)); do
  t=$(curl -s -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/pdf' \
        --data-binary @"$WORK/big.pdf" "http://127.0.0.1:$QPORT/v1/verify")
  best=$(awk -v t="$t" -v b="$best" 'BEGIN {print (b == 0 || t < b) ? t : b}')
done
awk -v t="$best" -v s="$(stat -c %s "$WORK/big.pdf")" 'BEGIN {
  printf "POST /v1/verify, 10 MiB PDF: best of 5 %.1f ms = %.0f MB/s (upload over loopback included)\n", t*1000, s/1e6/t }'
