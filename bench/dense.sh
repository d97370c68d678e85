#!/usr/bin/env bash
# quarry on one large Sysmon EVTX beside `evtx_dump -t 2 -o jsonl` on the same file, in the
# same run: read + normalise, ask Q1018, hunt with Elastic's rules and with Elastic's + SigmaHQ's,
# hunt with 1 rule (the cost per event of rules), on the varied and on the repeated 128 MB file;
# and the evtx crate's own walk of the records' values, the floor of any reader built on it.
#   bench/dense.sh [SIZE_MB]     (needs ../shared and evtx_dump from `cargo install evtx`)
# Columns: wall and user CPU seconds (best of $RUNS runs, default 3; user time is the figure to
# compare when the machine is busy), peak RSS, the ratio of wall and of user time to evtx_dump's,
# alerts written and the largest alert. The files are built in a scratch folder and deleted, or
# in $DENSE_DIR and kept for the next run. QUARRY_BIN=path measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${QUARRY_CORPUS:-$(cd .. && pwd)/shared}"
SIZE="${1:-128}"
RUNS="${RUNS:-3}"
[ -n "${QUARRY_BIN:-}" ] || cargo build -q --release -p quarry-cli
Q="${QUARRY_BIN:-./target/release/quarry}"
# the floor under any reader built on the evtx crate: each record walked with its substitution
# values (`template_instances`), nothing built from them
cargo build -q --release -p quarry-read --example evtx_floor
FLOOR=./target/release/examples/evtx_floor
DUMP="${EVTX_DUMP:-$(command -v evtx_dump || echo "$HOME/.cargo/bin/evtx_dump")}"
export EVTX_DUMP="$DUMP"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
ELASTIC=(--rules "$SHARED/rules/elastic/rules" --rules "$SHARED/rules/elastic/rules_building_block")
SIGMA=(--rules "$SHARED/rules/sigma/rules")
# one rule that reads every process start: what reading, lineage and one rule cost
ONE="$SHARED/rules/elastic/rules/windows/execution_command_shell_started_by_svchost.toml"

# best wall and best user seconds of $RUNS runs, peak RSS in MB; stdout to $TMP/out
measure() {
  local wall=999999 user=999999 rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %M" -o "$TMP/t" "$@" >"$TMP/out" 2>"$TMP/err" || true
    read -r w u kb < <(tail -n1 "$TMP/t")
    wall=$(python3 -c "print(min($wall, $w))"); user=$(python3 -c "print(min($user, $u))")
    rss=$(( kb > rss ? kb : rss ))
  done
  echo "$wall $user $((rss / 1024))"
}
# alerts written and the largest in KB (NDJSON: one per line)
alerts() { awk '{ n++; if (length($0) > m) m = length($0) } END { printf "%d alerts, max %.1f KB", n, m / 1024 }' "$TMP/out"; }
ratio() { python3 -c "print(round($1/$2, 2) if $2 > 0 else '-')"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-44s | %6s | %6s | %7s | %6s | %6s | %-24s |\n' workload wall user "peak MB" "wall×" "user×" result
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" -------- -------- --------- -------- -------- "$(printf -- '-%.0s' {1..26})"
for kind in varied repeated; do
  F="${DENSE_DIR:-$TMP}/sysmon-$kind-${SIZE}MB.evtx"
  if [ "$kind" = varied ]; then V=--vary; else V=; fi
  [ -s "$F" ] || "$SHARED/tools/make-dense-evtx" $V "$SHARED/corpus/evtx" "$F" "$SIZE" >/dev/null
  read -r fw fu fm < <(measure "$DUMP" -t 2 -o jsonl "$F")
  row() { printf '| %-44s | %6s | %6s | %7s | %6s | %6s | %-24s |\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$fw")" "$(ratio "$3" "$fu")" "$5"; }
  row "$kind: evtx_dump -t 2 -o jsonl" "$fw" "$fu" "$fm" "$(wc -l <"$TMP/out") records"
  read -r w u m < <(measure "$FLOOR" "$F")
  row "$kind: evtx crate, values only (floor)" "$w" "$u" "$m" "$(cut -d' ' -f1 <"$TMP/out") records"
  read -r w u m < <(measure "$Q" search --format ndjson 'any where false' "$F")
  row "$kind: search 'any where false'" "$w" "$u" "$m" "read + normalise"
  read -r w u m < <(measure "$Q" ask Q1018 --format ndjson "$F")
  row "$kind: ask Q1018" "$w" "$u" "$m" "$(wc -l <"$TMP/out") rows"
  read -r w u m < <(measure "$Q" hunt --rules "$ONE" --format ndjson "$F")
  row "$kind: hunt, 1 Elastic rule" "$w" "$u" "$m" "$(alerts)"
  read -r w u m < <(measure "$Q" hunt "${ELASTIC[@]}" --format ndjson "$F")
  row "$kind: hunt, Elastic rules + building blocks" "$w" "$u" "$m" "$(alerts)"
  read -r w u m < <(measure "$Q" hunt "${ELASTIC[@]}" "${SIGMA[@]}" --format ndjson "$F")
  row "$kind: hunt, Elastic + SigmaHQ rules" "$w" "$u" "$m" "$(alerts)"
  [ -n "${DENSE_DIR:-}" ] || rm -f "$F"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
