# Sourced by the bench scripts. `measure CMD…` prints the best wall seconds of
# three runs and the peak RSS in MB; each run's stdout goes to
# ${MEASURE_OUT:-/dev/null}, its stderr to $TMP/err ($TMP: the script's scratch dir).
measure() {
  local best=999999 rss=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$TMP/t" "$@" >"${MEASURE_OUT:-/dev/null}" 2>"$TMP/err" || true
    read -r s kb < <(tail -n1 "$TMP/t")
    best=$(python3 -c "print(min($best, $s))"); rss=$(( kb > rss ? kb : rss ))
  done
  echo "$best $((rss / 1024))"
}
