"""quarry's Spark driver: runs one `quarry hunt|ask|search --spark` job on a Spark
Connect server and prints the result rows (`kind<TAB>payload`) on stdout for the
quarry process that started it (embedded in the binary; see
crates/quarry-cli/src/spark/mod.rs for the plan and the row kinds).

    python3 quarry_spark.py SPEC.json

Exit codes: 0 done; 3 the server cannot be reached; 4 the job failed (said on stderr).
Needs pyspark (Spark Connect client) on this machine only: the executors run the
quarry binary shipped with the job, nothing else.
"""
import json
import socket
import sys
from urllib.parse import urlparse


def say(msg):
    print(f"quarry: --spark: {msg}", file=sys.stderr)


def first_line(e):
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def main():
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    remote = spec["remote"]
    url = urlparse("http://" + remote[len("sc://"):])
    host, port = url.hostname or "localhost", url.port or 15002
    # fail fast and clearly: the gRPC client would retry for minutes
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as e:
        say(f"cannot reach the Spark Connect server at {remote}: {e}")
        return 3
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
    except ImportError as e:
        say(f"pyspark is not installed here ({e}): pip install 'pyspark[connect]==4.3.0'")
        return 4

    spark = None
    try:
        spark = SparkSession.builder.remote(remote).getOrCreate()
        # quarry and its job reach every executor through Spark's artifacts
        spark.addArtifacts(spec["binary"], file=True)
        spark.addArtifacts(spec["job"], file=True)
        n = spec["nonce"]

        # rows as tab-separated text both ways, NULL as \N
        fmt = "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' NULL DEFINED AS '\\\\N'"

        def using(stage):
            # artifacts land in the task's folder or a session folder below it;
            # Spark runs the command with `/bin/bash -c`
            run = (f"for q in ./quarry-{n} ./*/quarry-{n}; do if [ -f $q ]; then "
                   f"chmod +x $q 2>/dev/null; exec $q partition {stage} job-{n}.json; fi; done; "
                   f"echo quarry-{n}: not shipped to this executor >&2; exit 127")
            return f"{fmt} USING '{run}'"

        frames = []
        if spec["local"]:
            # paths every executor sees (the local cluster, a shared mount): read in place
            rows = [(r, d, p) for r, d, p in spec["local"]]
            df = spark.createDataFrame(rows, "rank INT, file STRING, path STRING")
            df = df.withColumn("content", F.lit(None).cast("string"))
            frames.append(df.repartition(min(len(rows), 256)))
        if spec["uris"]:
            # any filesystem Spark is configured for: Spark reads, quarry parses
            b = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
                 .load(spec["uris"]))
            frames.append(b.select(F.lit(None).cast("int").alias("rank"),
                                   F.col("path").alias("file"),
                                   F.lit(None).cast("string").alias("path"),
                                   F.base64("content").alias("content")))
        if not frames:
            return 0
        files = frames[0]
        for f in frames[1:]:
            files = files.unionByName(f)
        files.createOrReplaceTempView(f"quarry_files_{n}")
        stage1 = spark.sql(
            f"SELECT TRANSFORM(to_json(struct(rank, file, path, content))) {using('read')} "
            "AS (key STRING, ts BIGINT, rank INT, file STRING, seq BIGINT, kind STRING, payload STRING) "
            f"{fmt} FROM quarry_files_{n}")
        stage2 = spec.get("stage2")
        kept = None
        if stage2:
            # a task's results come back whole (Spark Connect collects each
            # partition's rows as one result): at least one partition per 32 MB
            # read keeps that within an executor's memory; adaptive execution
            # coalesces the partitions small data leaves
            have = int(spark.conf.get("spark.sql.shuffle.partitions", "200"))
            want = -(-int(spec.get("bytes") or 0) // (32 << 20))
            if want > have:
                spark.conf.set("spark.sql.shuffle.partitions", str(want))
            stage1.createOrReplaceTempView(f"quarry_events_{n}")
            # each host whole, in one task, in input order: what quarry sees on
            # one machine (it orders by time itself where its answers need it;
            # where they do not, e.g. a process's children, input order decides)
            out = spark.sql(
                f"SELECT TRANSFORM(kind, payload) {using(stage2)} AS (kind STRING, payload STRING) {fmt} "
                f"FROM (SELECT * FROM quarry_events_{n} "
                "DISTRIBUTE BY key SORT BY key, rank, file, seq)")
            if stage2 == "hunt":
                # triage's scope (the same executable or command line on other
                # hosts) over every partition: each gives its hosts' executables
                # and command lines (p) and what its alerts look up (n); only the
                # looked-up keys, with all their hosts, come back. The hunt's
                # output is kept so that its script runs once.
                kept = out.persist()
                kept.createOrReplaceTempView(f"quarry_out_{n}")
                key = "get_json_object(payload, '$.k')"
                out = spark.sql(
                    f"SELECT kind, payload FROM quarry_out_{n} WHERE kind NOT IN ('p', 'n') "
                    "UNION ALL "
                    "SELECT 'scope' AS kind, "
                    "to_json(named_struct('k', k, 'hosts', array_sort(collect_set(h)))) AS payload "
                    f"FROM (SELECT {key} AS k, get_json_object(payload, '$.h') AS h "
                    f"FROM quarry_out_{n} WHERE kind = 'p') pairs "
                    f"LEFT SEMI JOIN (SELECT {key} AS w FROM quarry_out_{n} WHERE kind = 'n') wanted "
                    "ON pairs.k = wanted.w GROUP BY k")
        else:
            out = stage1.orderBy("rank", "file", "seq").select("kind", "payload")
        w = sys.stdout
        for row in out.toLocalIterator():
            w.write(f"{row.kind}\t{row.payload}\n")
        w.flush()
        if kept is not None:
            # the cache is the server's, shared by its sessions
            kept.unpersist()
        return 0
    except Exception as e:  # noqa: BLE001 - every failure is reported, with Spark's reason
        say(f"the Spark job failed: {first_line(e)}")
        return 4
    finally:
        if spark is not None:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001
                pass


if __name__ == "__main__":
    sys.exit(main())
