#!/usr/bin/env bash
# A loopback Apache Spark cluster for developing and testing `quarry … --spark`:
# a standalone master, workers and a Spark Connect server, all on 127.0.0.1.
#
#   spark/local-cluster.sh start|stop|status
#
# Installs what is missing first: pip `pyspark[connect]` (Spark's jars and scripts,
# ~490 MB) and, when there is no java, apt's openjdk-17-jre-headless.
# Settings (environment): QUARRY_SPARK_DIR (state, logs; default /tmp/quarry-spark),
# QUARRY_SPARK_WORKERS (2), QUARRY_SPARK_WORKER_MEMORY (1g), QUARRY_SPARK_PORT (Spark
# Connect, 15002), QUARRY_SPARK_MASTER_PORT (7077), QUARRY_SPARK_UI_PORT (8080).
# The server is then sc://127.0.0.1:15002.
set -euo pipefail

PYSPARK_VERSION=4.3.0
DIR="${QUARRY_SPARK_DIR:-/tmp/quarry-spark}"
WORKERS="${QUARRY_SPARK_WORKERS:-2}"
MEM="${QUARRY_SPARK_WORKER_MEMORY:-1g}"
PORT="${QUARRY_SPARK_PORT:-15002}"
MPORT="${QUARRY_SPARK_MASTER_PORT:-7077}"
UIPORT="${QUARRY_SPARK_UI_PORT:-8080}"
PY="${PYTHON:-python3}"

say() { echo "local-cluster: $*" >&2; }

install() {
  if ! command -v java >/dev/null 2>&1; then
    say "installing openjdk-17-jre-headless"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  if ! "$PY" -c 'import pyspark.sql.connect.session' >/dev/null 2>&1; then
    say "installing pyspark[connect]==$PYSPARK_VERSION"
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
    fi
    # a distribution's own python3 refuses pip installs (PEP 668) unless told
    "$PY" -m pip install -q "pyspark[connect]==$PYSPARK_VERSION" 2>/dev/null ||
      "$PY" -m pip install -q --break-system-packages "pyspark[connect]==$PYSPARK_VERSION"
  fi
}

spark_home() { "$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'; }

env_setup() {
  SPARK_HOME="$(spark_home)"
  export SPARK_HOME
  export SPARK_PID_DIR="$DIR/pids" SPARK_LOG_DIR="$DIR/logs" SPARK_WORKER_DIR="$DIR/work"
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1
  # the daemons themselves stay small: the machine is shared
  export SPARK_DAEMON_MEMORY=256m
  # every file Spark writes (shuffle, shipped artifacts, temp) stays under $DIR, removed by stop
  SPARK_TMP="$DIR/tmp"
  export SPARK_LOCAL_DIRS="$DIR/local"
  export SPARK_DAEMON_JAVA_OPTS="-Djava.io.tmpdir=$SPARK_TMP"
  mkdir -p "$SPARK_PID_DIR" "$SPARK_LOG_DIR" "$SPARK_WORKER_DIR" "$SPARK_TMP" "$SPARK_LOCAL_DIRS"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive_workers() {
  "$PY" - "$UIPORT" <<'EOF' 2>/dev/null || echo 0
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2) as r:
    print(json.load(r).get("aliveworkers", 0))
EOF
}

daemon() { "$SPARK_HOME/sbin/spark-daemon.sh" "$@"; }

start() {
  install
  env_setup
  if port_open "$PORT"; then
    say "a Spark Connect server already listens on 127.0.0.1:$PORT"
    return 0
  fi
  say "starting master (127.0.0.1:$MPORT), $WORKERS workers ($MEM each), Spark Connect (127.0.0.1:$PORT); logs in $SPARK_LOG_DIR"
  running() { daemon status "$@" >/dev/null 2>&1; }
  running org.apache.spark.deploy.master.Master 1 ||
    daemon start org.apache.spark.deploy.master.Master 1 \
    --host 127.0.0.1 --port "$MPORT" --webui-port "$UIPORT" >/dev/null
  for i in $(seq 1 "$WORKERS"); do
    running org.apache.spark.deploy.worker.Worker "$i" ||
      daemon start org.apache.spark.deploy.worker.Worker "$i" \
      --host 127.0.0.1 --cores 1 --memory "$MEM" --webui-port 0 \
      --work-dir "$SPARK_WORKER_DIR" "spark://127.0.0.1:$MPORT" >/dev/null
  done
  local t=0
  until [ "$(alive_workers)" -ge "$WORKERS" ]; do
    t=$((t + 1))
    if [ "$t" -gt 120 ]; then say "workers not up after 60 s; see $SPARK_LOG_DIR"; exit 1; fi
    sleep 0.5
  done
  # the Connect server is the driver: SPARK_DAEMON_MEMORY would cap its heap below Spark's minimum
  SPARK_DAEMON_MEMORY= "$SPARK_HOME/sbin/start-connect-server.sh" \
    --master "spark://127.0.0.1:$MPORT" \
    --driver-memory 768m \
    --conf spark.executor.memory=640m \
    --conf spark.executor.cores=1 \
    --conf spark.sql.shuffle.partitions=4 \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$PORT" \
    --conf spark.ui.enabled=false \
    --conf spark.local.dir="$SPARK_LOCAL_DIRS" \
    --conf spark.driver.extraJavaOptions="-Djava.io.tmpdir=$SPARK_TMP" \
    --conf spark.executor.extraJavaOptions="-Djava.io.tmpdir=$SPARK_TMP" >/dev/null
  t=0
  until port_open "$PORT"; do
    t=$((t + 1))
    if ! daemon status org.apache.spark.sql.connect.service.SparkConnectServer 1 >/dev/null 2>&1; then
      say "Spark Connect server exited; see $SPARK_LOG_DIR"; exit 1
    fi
    if [ "$t" -gt 240 ]; then say "Spark Connect not up after 120 s; see $SPARK_LOG_DIR"; exit 1; fi
    sleep 0.5
  done
  say "ready: sc://127.0.0.1:$PORT"
}

stop() {
  env_setup
  "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
  for i in $(seq 1 "$WORKERS"); do
    daemon stop org.apache.spark.deploy.worker.Worker "$i" >/dev/null 2>&1 || true
  done
  daemon stop org.apache.spark.deploy.master.Master 1 >/dev/null 2>&1 || true
  # each job ships quarry to every executor: those copies go with the cluster
  rm -rf "$SPARK_WORKER_DIR" "$SPARK_TMP" "$SPARK_LOCAL_DIRS"
  say "stopped"
}

status() {
  env_setup
  echo "master: $(port_open "$MPORT" && echo "up (127.0.0.1:$MPORT, $(alive_workers) workers alive)" || echo down)"
  echo "connect: $(port_open "$PORT" && echo "up (sc://127.0.0.1:$PORT)" || echo down)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  install) install ;;
  *) echo "usage: $0 start|stop|status|install" >&2; exit 2 ;;
esac
