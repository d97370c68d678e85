#!/usr/bin/env bash
# CrowdStrike FDR read + normalise throughput, printed as a table.
#   bench/fdr.sh [MEGABYTES]      (default 300; needs ../shared, python3, gzip)
# Generates FDR JSON lines from the corpus's real FDR records (bench/gen_fdr.py; ids,
# pids, times, hosts varied) into a temporary folder, plus a .gz of the same file, and
# times `quarry search 'process where false'`: every record is read, parsed, normalised
# to ECS and tested against a query that keeps nothing, so what is measured is reading
# and normalising (no lineage, no output). MB/s is of the uncompressed JSON in both rows.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
MB="${1:-300}"
cargo build -q --release -p quarry-cli
Q=./target/release/quarry
TMP=$(mktemp -d "${TMPDIR:-/tmp}/quarry-fdr-bench.XXXXXX"); trap 'rm -rf "$TMP"' EXIT

python3 bench/gen_fdr.py "$SHARED" "$TMP/fdr.ndjson" "$MB"
gzip -1 -c "$TMP/fdr.ndjson" > "$TMP/fdr.ndjson.gz"
RAW_MB=$(python3 -c "import os; print(round(os.path.getsize('$TMP/fdr.ndjson')/1e6))")
GZ_MB=$(python3 -c "import os; print(round(os.path.getsize('$TMP/fdr.ndjson.gz')/1e6))")

. bench/lib.sh

printf '| %-52s | %8s | %8s | %8s |\n' "workload" "seconds" "MB/s" "peak MB"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "----------" "----------" "----------"
row() { printf '| %-52s | %8s | %8s | %8s |\n' "$1" "$2" "$(python3 -c "print(round($3/$2) if $2>0 else '-')")" "$4"; }

read -r s m < <(measure "$Q" search --format ndjson 'process where false' "$TMP/fdr.ndjson")
row "quarry search, FDR JSON lines (${RAW_MB} MB)" "$s" "$RAW_MB" "$m"
SUMMARY=$(grep -h "quarry: read" "$TMP/err" || true)
read -r s m < <(measure "$Q" search --format ndjson 'process where false' "$TMP/fdr.ndjson.gz")
row "quarry search, same file .gz (${GZ_MB} MB compressed)" "$s" "$RAW_MB" "$m"
read -r s m < <(measure gzip -dc "$TMP/fdr.ndjson.gz")
row "gzip -dc of the .gz alone (reference)" "$s" "$RAW_MB" "$m"
read -r s m < <(measure "$Q" ask Q1018 --format csv "$TMP/fdr.ndjson")
row "quarry ask Q1018 (adds lineage + join), FDR JSON" "$s" "$RAW_MB" "$m"
echo "$SUMMARY"
