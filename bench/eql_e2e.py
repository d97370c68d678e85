#!/usr/bin/env python3
"""End to end: an NDJSON file of ECS events in, the dns.exe rule's matches out.
Times quarry (best and median of 5 runs) against the Python `eql` package
(1.0.1, Elasticsearch-syntax parser flags; one run, ~2 s) on the same file,
flushed to disk first, and prints a table.

usage: bench/eql_e2e.py [N_EVENTS]   (needs `pip install eql==1.0.1`)
"""
import json, os, random, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUARRY = os.path.join(ROOT, "target", "release", "quarry")
QUERY = r'''process where host.os.type == "windows" and event.type == "start" and
  process.parent.name : "dns.exe" and
  not process.executable : ("?:\\Windows\\System32\\conhost.exe", "?:\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Windows\\System32\\conhost.exe", "\\Device\\HarddiskVolume*\\Windows\\System32\\dns.exe",
    "\\Device\\HarddiskVolume*\\Program Files\\ReasonLabs\\*") and
  not ?process.parent.executable : "?:\\Program Files\\ReasonLabs\\DNS\\ui\\DNS.exe"'''

EXES = [r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\conhost.exe",
        r"\Device\HarddiskVolume3\Windows\System32\rundll32.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"]
PARENTS = ["explorer.exe", "services.exe", "dns.exe", "svchost.exe", "WINWORD.EXE"]


def generate(path):
    rnd = random.Random(7)
    with open(path, "w") as f:
        for i in range(N):
            exe = rnd.choice(EXES)
            parent = rnd.choice(PARENTS)
            doc = {"@timestamp": 1700000000000 + i, "event": {"category": "process", "type": "start", "kind": "event"},
                   "host": {"os": {"type": "windows"}, "id": "host-%d" % (i % 50), "name": "WS%d" % (i % 50)},
                   "process": {"executable": exe, "name": exe.split("\\")[-1], "pid": i % 30000,
                               "command_line": "%s --arg %d" % (exe, i),
                               "parent": {"name": parent, "executable": "C:\\Windows\\System32\\" + parent}}}
            f.write(json.dumps(doc) + "\n")


def run_quarry(path):
    # matches written to a file, as a user would (`> hits.ndjson`); counted
    # after the clock stops, so Python's decoding of a pipe is not timed
    hits = path + ".hits.ndjson"
    with open(hits, "wb") as out, open(os.devnull, "wb") as err:
        t = time.perf_counter()
        subprocess.run([QUARRY, "search", "--format", "ndjson", QUERY, path], stdout=out, stderr=err)
        secs = time.perf_counter() - t
    with open(hits, "rb") as f:
        n = sum(1 for _ in f)
    return secs, n


def run_python_eql(path):
    import eql
    from eql.parser import elasticsearch_syntax, ignore_missing_functions
    t = time.perf_counter()
    with elasticsearch_syntax, ignore_missing_functions:
        query = eql.parse_query(QUERY)
    hits = []
    engine = eql.PythonEngine()
    engine.add_query(query)
    engine.add_output_hook(lambda e: hits.append(e))

    def events(f):
        for line in f:
            doc = json.loads(line)
            # python eql takes the category from a flat `event_type` key
            doc["event_type"] = doc["event"]["category"]
            yield doc

    with open(path) as f:
        engine.stream_events(events(f))
    return time.perf_counter() - t, len(hits)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "events.ndjson")
        generate(path)
        # the file was just written: flush it, so that neither engine's run
        # competes with its writeback
        os.sync()
        mb = os.path.getsize(path) / 1e6
        runs = sorted((run_quarry(path) for _ in range(5)), key=lambda r: r[0])
        q, q_median = runs[0], runs[len(runs) // 2]
        p = run_python_eql(path)
        print("| engine | events | MB | seconds | events/s | matches |")
        print("|---|---|---|---|---|---|")
        for name, (secs, hits) in (("quarry search (2 cores), best of 5", q),
                                   ("quarry search (2 cores), median of 5", q_median),
                                   ("python eql 1.0.1", p)):
            print("| %s | %d | %.1f | %.3f | %d | %d |" % (name, N, mb, secs, N / secs, hits))
        print("\nquarry is %.1fx faster end to end (best run; %.1fx by the median run)"
              % (p[0] / q[0], p[0] / q_median[0]))
