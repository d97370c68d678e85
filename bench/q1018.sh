#!/usr/bin/env bash
# Throughput and peak memory of `quarry ask Q1018`, printed as a table.
#   bench/q1018.sh            (needs ../shared, evtx_dump from `cargo install evtx`, unzip)
# Compares against `evtx_dump -o jsonl` (the evtx crate's own dumper) on the same EVTX
# folder, both using the machine's cores, and measures MB/s on the OTRF LSASS JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
cargo build -q --release -p quarry-cli
Q=./target/release/quarry
CORES=$(nproc)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

. bench/lib.sh

EVTX="$SHARED/corpus/evtx/sbousseaden"
EVTX_MB=$(du -sm "$EVTX" | cut -f1)
printf '| %-48s | %8s | %8s | %8s |\n' "workload" "seconds" "MB/s" "peak MB"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..50})" "----------" "----------" "----------"
row() { printf '| %-48s | %8s | %8s | %8s |\n' "$1" "$2" "$(python3 -c "print(round($3/$2) if $2>0 else '-')")" "$4"; }

read -r s m < <(measure sh -c "find '$EVTX' -name '*.evtx' -print0 | xargs -0 -P$CORES -n8 sh -c 'for f; do evtx_dump -o jsonl \"\$f\"; done' _")
row "evtx_dump -o jsonl, sbousseaden (${EVTX_MB} MB, ${CORES} procs)" "$s" "$EVTX_MB" "$m"
read -r s m < <(measure "$Q" ask Q1018 --format csv "$EVTX")
row "quarry ask Q1018, sbousseaden" "$s" "$EVTX_MB" "$m"

for i in 1 2 3 4; do unzip -q -o "$SHARED"/corpus/otrf/compound/LSASS_campaign_0$i/*_dump.zip -d "$TMP/lsass"; done
LS_MB=$(du -sm "$TMP/lsass" | cut -f1)
read -r s m < <(measure "$Q" ask Q1018 --format csv "$TMP/lsass")
row "quarry ask Q1018, LSASS 1-4 JSON (1x)" "$s" "$LS_MB" "$m"
mkdir -p "$TMP/lsass4"
for k in 1 2 3 4; do for f in "$TMP"/lsass/*.json; do cp "$f" "$TMP/lsass4/$k-$(basename "$f")"; done; done
read -r s m < <(measure "$Q" ask Q1018 --format csv "$TMP/lsass4")
row "quarry ask Q1018, LSASS 1-4 JSON (4x)" "$s" "$((LS_MB * 4))" "$m"
