#!/usr/bin/env bash
# Reads stay fast under hostile uploads: GET /checkpoint latency (p50, p99,
# wrk --latency) from `quipu serve` alone, then while HOSTILE (16) clients
# post hostile PDFs to /v1/verify without pause (the one that crashed PoDoFo,
# a /Size bomb, a cyclic page tree, 5,000 revisions, and a valid 13 MB PDF
# of 200,000 objects that keeps a parser busy past its deadline). Prints both
# and the ratios (issue 13 target: p99 under load within 5x of p99 alone),
# how the hostile requests were answered, and the node's memory before and
# after.
#
#   bench/compare-latency.sh               # 10 s each, 4 probe connections
#   DURATION=30 HOSTILE=32 bench/compare-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
QUIPU=${QUIPU:-build/quipu}
DURATION=${DURATION:-10}
CONNS=${CONNS:-4}
HOSTILE=${HOSTILE:-16}
PORT=${PORT:-18490}
WORK=$(realpath -m "${BENCH_DIR:-build/bench-data}/latency")
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool: make deps-bench" >&2; exit 1; }
done
rm -rf "$WORK" && mkdir -p "$WORK/pdfs"
build/bench/hostile_pdfs "$WORK/pdfs"
"$QUIPU" log init --data "$WORK/data" >/dev/null 2>&1
"$QUIPU" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" >/dev/null 2>"$WORK/quipu.log" &
qpid=$!
trap 'kill $qpid 2>/dev/null || true; wait $qpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

cat >"$WORK/hostile.lua" <<LUA
local files = {}
for _, name in ipairs({"encrypt-crash.pdf", "huge-size.pdf", "cyclic.pdf", "revisions-5000.pdf", "objects-200k.pdf"}) do
  local f = assert(io.open("$WORK/pdfs/" .. name, "rb"))
  files[#files + 1] = f:read("*a")
  f:close()
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/verify", {["Content-Type"] = "application/pdf"}, files[(n % #files) + 1])
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
statuses = {}
response = function(status) statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1 end
done = function()
  local all = {}
  for _, t in ipairs(threads) do
    for s, c in pairs(t:get("statuses")) do all[s] = (all[s] or 0) + c end
  end
  local line = "hostile answers by status:"
  for s, c in pairs(all) do line = line .. " " .. s .. " x" .. c end
  io.stderr:write(line .. "\n")
end
LUA

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
workers_rss() {
  local total=0
  for p in $(pgrep -P "$qpid" 2>/dev/null); do total=$((total + $(rss "$p"))); done
  echo "$total"
}
# wrk --latency prints "50%  1.23ms"; in milliseconds.
percentile() {
  awk -v p="$1" '$1 == p {v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
    m = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1; printf "%.3f", v * m}' "$2"
}
probe() {
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/checkpoint" >"$1"
}

curl -s -o /dev/null "http://127.0.0.1:$PORT/checkpoint"
rss_start=$(rss "$qpid")
probe "$WORK/alone.txt"
wrk -t1 -c"$HOSTILE" -d"$((DURATION + 4))s" --timeout 30s -s "$WORK/hostile.lua" \
  "http://127.0.0.1:$PORT/" >"$WORK/hostile.txt" 2>"$WORK/hostile.err" &
hpid=$!
sleep 2
probe "$WORK/loaded.txt"
healthz=$(curl -s -o /dev/null -w '%{http_code} in %{time_total}s' --max-time 10 "http://127.0.0.1:$PORT/healthz")
wait "$hpid" || true
rss_loaded_workers=$(workers_rss)
# Until the node has answered what it still holds (jobs end by their deadline).
for _ in $(seq 60); do
  [[ $(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^quipu_pool_running/ {print $2}') == 0 ]] && break
  sleep 0.5
done
sleep 1
rss_end=$(rss "$qpid")
rss_end_workers=$(workers_rss)

a50=$(percentile 50% "$WORK/alone.txt"); a99=$(percentile 99% "$WORK/alone.txt")
l50=$(percentile 50% "$WORK/loaded.txt"); l99=$(percentile 99% "$WORK/loaded.txt")
echo "GET /checkpoint alone:             p50 ${a50} ms  p99 ${a99} ms  ($(awk '/Requests\/sec/ {print $2}' "$WORK/alone.txt") req/s)"
echo "GET /checkpoint, $HOSTILE hostile posters: p50 ${l50} ms  p99 ${l99} ms  ($(awk '/Requests\/sec/ {print $2}' "$WORK/loaded.txt") req/s)"
awk -v a="$a99" -v l="$l99" -v b="$a50" -v m="$l50" 'BEGIN {
  printf "ratio under load: p50 %.2fx, p99 %.2fx (target: p99 within 5x)\n", m / b, l / a }'
echo "$(cat "$WORK/hostile.err")  ($(awk '/requests in/ {print $1}' "$WORK/hostile.txt") hostile requests)"
echo "/healthz during the load: $healthz"
echo "node RSS: ${rss_start} kB before, ${rss_end} kB after; PDF workers' RSS: ${rss_loaded_workers} kB as the load ended, ${rss_end_workers} kB once idle"
kill -0 "$qpid" && echo "node still running: yes"
