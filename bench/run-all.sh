#!/usr/bin/env bash
# `make bench`: every benchmark and peer comparison, one after the other.
# Figures are ratios against a peer measured in the same run where one
# exists; these machines are shared, so compare within a run, not across.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bench
echo "== SHA-256 file hashing: quipu vs openssl"; bench/compare-hash.sh
echo "== durable append: quipu vs raw LMDB";     bench/compare-ledger.sh
echo "== reads under hostile uploads";           bench/compare-latency.sh
echo "== crypto core";  "$B/crypto_bench"
echo "== RFC 8785";     "$B/jcs_bench"
echo "== signed notes"; "$B/note_bench"
echo "== PDF";          "$B/pdf_bench"
echo "== LMDB store";   "$B/store_bench"
echo "== ledger";       "$B/ledger_bench"
