#!/usr/bin/env bash
# quarry on one machine vs through Spark (the local cluster, 1 and 2 workers), printed as a table.
#   bench/spark.sh [MEGABYTES] [FILES]     (default 1000 MB in 100 files; needs ../shared, python3, pyspark)
# Generates an FDR set of 200 hosts, FILES batch files cut by time (bench/gen_fdr.py: every
# host's events in every file), and times `quarry ask Q1018` (lineage + join per host: the
# partitioned stage), `quarry search` with an event query (the pushed-down filter alone) and
# `quarry hunt` (built-in rules; every event is shuffled). The start-up cost is the same
# commands on a one-file set of 1 MB. Best of RUNS (default 1) runs; one run at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
MB="${1:-1000}"
FILES="${2:-100}"
RUNS="${RUNS:-1}"
cargo build -q --release -p quarry-cli
Q=./target/release/quarry
URL=sc://127.0.0.1:${QUARRY_SPARK_PORT:-15002}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/quarry-spark-bench.XXXXXX")
trap 'rm -rf "$TMP"; spark/local-cluster.sh stop >/dev/null 2>&1 || true' EXIT

python3 bench/gen_fdr.py "$SHARED" "$TMP/fdr" "$MB" "$FILES" 200
python3 bench/gen_fdr.py "$SHARED" "$TMP/tiny" 1 1 200

best() {
  local b=999999
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e" -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
    b=$(python3 -c "print(min($b, $(tail -n1 "$TMP/t")))")
  done
  echo "$b"
}

SEARCH='process where process.command_line : "*whoami*"'
printf '| %-44s | %9s | %9s | %9s |\n' "command (FDR ${MB} MB, ${FILES} files, 200 hosts)" "one machine" "Spark, 1 worker" "Spark, 2 workers"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "-----------" "-----------" "-----------"
declare -A T
for w in 0 1 2; do
  if [ "$w" -gt 0 ]; then
    spark/local-cluster.sh stop >/dev/null 2>&1 || true
    QUARRY_SPARK_WORKERS=$w spark/local-cluster.sh start
    S=(--spark "$URL")
  else
    S=()
  fi
  T[$w,ask]=$(best "$Q" ask Q1018 --format ndjson "${S[@]}" "$TMP/fdr")
  T[$w,search]=$(best "$Q" search --format ndjson "${S[@]}" "$SEARCH" "$TMP/fdr")
  T[$w,hunt]=$(best "$Q" hunt --format ndjson "${S[@]}" "$TMP/fdr")
  T[$w,tiny]=$(best "$Q" ask Q1018 --format ndjson "${S[@]}" "$TMP/tiny")
done
row() { printf '| %-44s | %9ss | %9ss | %9ss |\n' "$1" "${T[0,$2]}" "${T[1,$2]}" "${T[2,$2]}"; }
row "quarry ask Q1018" ask
row "quarry search (event query, pushed down)" search
row "quarry hunt (built-in rules)" hunt
row "start-up: quarry ask Q1018 on 1 MB" tiny
mbs() { python3 -c "print(round($MB/$1, 1))"; }
echo
echo "throughput of ask Q1018: one machine $(mbs "${T[0,ask]}") MB/s; Spark 1 worker $(mbs "${T[1,ask]}") MB/s; 2 workers $(mbs "${T[2,ask]}") MB/s"
