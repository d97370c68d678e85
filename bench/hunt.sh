#!/usr/bin/env bash
# `quarry hunt` with all of Elastic's EQL rules against the `evtx_dump -o jsonl` floor,
# printed as a table (best of 3 wall seconds, peak RSS).
#   bench/hunt.sh        (needs ../shared and evtx_dump from `cargo install evtx`)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
cargo build -q --release -p quarry-cli
Q=./target/release/quarry
DUMP="${EVTX_DUMP:-$(command -v evtx_dump || echo "$HOME/.cargo/bin/evtx_dump")}"
CORES=$(nproc)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
RULES=(--rules "$SHARED/rules/elastic/rules" --rules "$SHARED/rules/elastic/rules_building_block")
. bench/lib.sh
MEASURE_OUT="$TMP/out"   # the alerts, counted below

printf '| %-58s | %8s | %8s | %-22s |\n' "workload" "seconds" "peak MB" "result"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "----------" "----------" "------------------------"
EVTX="$SHARED/corpus/evtx"
read -r s m < <(measure sh -c "find '$EVTX' -name '*.evtx' -print0 | xargs -0 -P$CORES -n1 '$DUMP' -o jsonl >/dev/null 2>&1")
printf '| %-58s | %8s | %8s | %-22s |\n' "evtx_dump -o jsonl, corpus/evtx ($CORES procs)" "$s" "$m" "render only"
floor=$s
read -r s m < <(measure "$Q" hunt "${RULES[@]}" --format ndjson "$EVTX")
n=$(wc -l <"$TMP/out")
printf '| %-58s | %8s | %8s | %-22s |\n' "quarry hunt, all Elastic EQL rules, corpus/evtx" "$s" "$m" "$n alerts, $(python3 -c "print(round($s/$floor,2))")x floor"
read -r s m < <(measure "$Q" hunt "${RULES[@]}" --format ndjson "$SHARED/corpus")
n=$(wc -l <"$TMP/out")
printf '| %-58s | %8s | %8s | %-22s |\n' "quarry hunt, all Elastic EQL rules, all of corpus/" "$s" "$m" "$n alerts"
read -r s m < <(measure "$Q" hunt --format ndjson "$SHARED/corpus")
n=$(wc -l <"$TMP/out")
printf '| %-58s | %8s | %8s | %-22s |\n' "quarry hunt, built-in rules, all of corpus/" "$s" "$m" "$n alerts"
