#!/usr/bin/env bash
# quarry on one machine vs through Spark (the local cluster, 1 and 2 workers), printed as a table.
#   bench/spark.sh [MEGABYTES] [FILES]     (default 1000 MB in 100 files; needs ../shared, python3, pyspark)
# Generates an FDR set of 200 hosts, FILES batch files cut by time (bench/gen_fdr.py: every
# host's events in every file), and times `quarry ask Q1018` (lineage + join per host: the
# partitioned stage), `quarry search` with an event query (the pushed-down filter alone) and
# `quarry hunt` (built-in rules; every event is shuffled). The start-up cost is the same
# commands on a one-file set of 1 MB. Best of RUNS (default 1) runs; one run at a time.
# COMMANDS (default "ask search hunt") picks the commands timed. For each Spark run, what left the
# readers (the pushed-down filter's output, piped into the partitions or back) is printed too.
# The generated data goes to a folder under ${TMPDIR:-/tmp} (spark-bench-*), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
MB="${1:-1000}"
FILES="${2:-100}"
RUNS="${RUNS:-1}"
cargo build -q --release -p quarry-cli
Q=./target/release/quarry
URL=sc://127.0.0.1:${QUARRY_SPARK_PORT:-15002}
COMMANDS="${COMMANDS:-ask search hunt}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spark-bench-quarry.XXXXXX")
trap 'rm -rf "$TMP"; spark/local-cluster.sh stop >/dev/null 2>&1 || true' EXIT

python3 bench/gen_fdr.py "$SHARED" "$TMP/fdr" "$MB" "$FILES" 200
python3 bench/gen_fdr.py "$SHARED" "$TMP/tiny" 1 1 200

best() {
  local b=999999
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e" -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
    b=$(python3 -c "print(min($b, $(tail -n1 "$TMP/t")))")
  done
  # what left the readers (Spark runs only), for the pushed-down vs piped figures
  grep -o 'quarry: --spark: .* left the readers.*' "$TMP/err" | sed 's/^quarry: --spark: //' >>"$TMP/piped" || true
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
  for c in ask search hunt; do T[$w,$c]=-; done
  case " $COMMANDS " in *" ask "*) echo "ask ($w workers):" >>"$TMP/piped"; T[$w,ask]=$(best "$Q" ask Q1018 --format ndjson "${S[@]}" "$TMP/fdr") ;; esac
  case " $COMMANDS " in *" search "*) echo "search ($w workers):" >>"$TMP/piped"; T[$w,search]=$(best "$Q" search --format ndjson "${S[@]}" "$SEARCH" "$TMP/fdr") ;; esac
  case " $COMMANDS " in *" hunt "*) echo "hunt ($w workers):" >>"$TMP/piped"; T[$w,hunt]=$(best "$Q" hunt --format ndjson "${S[@]}" "$TMP/fdr") ;; esac
  T[$w,tiny]=$(best "$Q" ask Q1018 --format ndjson "${S[@]}" "$TMP/tiny")
  echo "after $w workers: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
row() { printf '| %-44s | %9ss | %9ss | %9ss |\n' "$1" "${T[0,$2]}" "${T[1,$2]}" "${T[2,$2]}"; }
row "quarry ask Q1018" ask
row "quarry search (event query, pushed down)" search
row "quarry hunt (built-in rules)" hunt
row "start-up: quarry ask Q1018 on 1 MB" tiny
mbs() { python3 -c "print(round($MB/$1, 1))"; }
# the start-up cost taken off: what each worker adds once the job runs
net() { python3 -c "print(round($MB/max($1-$2, 0.01)/$3, 1))"; }
echo
for c in $COMMANDS; do
  echo "throughput of $c: one machine $(mbs "${T[0,$c]}") MB/s; Spark 1 worker $(mbs "${T[1,$c]}") MB/s; 2 workers $(mbs "${T[2,$c]}") MB/s;" \
    "per worker, start-up taken off: $(net "${T[1,$c]}" "${T[1,tiny]}" 1) and $(net "${T[2,$c]}" "${T[2,tiny]}" 2) MB/s"
done
echo
echo "what left the readers (events after the pushed-down filter; bytes as piped between the stages):"
grep -v '^$' "$TMP/piped" || true
