#!/usr/bin/env python3
"""Writes a large CrowdStrike FDR JSON-lines file for throughput benchmarks.

    bench/gen_fdr.py SHARED OUT.ndjson MEGABYTES
    bench/gen_fdr.py SHARED OUT_DIR MEGABYTES FILES [HOSTS]

With FILES, OUT_DIR gets FILES batch files (batch-00001.ndjson, …) cut by time, as
FDR delivers them: every host's events are spread over all of them. HOSTS (200).

Every record is one of the real FDR records in
SHARED/corpus/vendor/elastic-integrations/crowdstrike_fdr/*.ndjson (and the
ProcessRollup2V19 of SHARED/corpus/vendor/splunk-security_content/), with its
ids varied: aid/cid (one of 200 hosts), id, TargetProcessId / ParentProcessId /
ContextProcessId (process trees per host), RawProcessId, timestamp and
ProcessStartTime / ContextTimeStamp (increasing), DomainName and CommandLine.
Deterministic (seeded), so runs compare.
"""
import glob
import json
import os
import random
import sys

shared, out, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
nfiles = int(sys.argv[4]) if len(sys.argv) > 4 else 0
nhosts = int(sys.argv[5]) if len(sys.argv) > 5 else 200
files = glob.glob(os.path.join(shared, "corpus/vendor/elastic-integrations/crowdstrike_fdr/*.ndjson"))
files += glob.glob(os.path.join(shared, "corpus/vendor/splunk-security_content/crowdstrike_*.ndjson"))
templates = []
for f in sorted(files):
    with open(f) as fh:
        for line in fh:
            line = line.strip()
            if line:
                templates.append(json.loads(line))
if not templates:
    sys.exit(f"no FDR records under {shared}")
procs = [t for t in templates if t.get("event_simpleName", "").startswith("ProcessRollup")]
dns = [t for t in templates if t.get("event_simpleName") == "DnsRequest"]

rng = random.Random(1018)
hosts = [("%032x" % rng.getrandbits(128), "%032x" % rng.getrandbits(128)) for _ in range(nhosts)]
domains = ["update-check.duckdns.org", "login.microsoftonline.com", "settings-win.data.microsoft.com",
           "www.google.com", "fe3cr.delivery.mp.microsoft.com", "wpad.corp.example", "dc01.corp.example",
           "cdn.jsdelivr.net", "github.com", "raw.githubusercontent.com"]
commands = ["cmd.exe /c whoami", "\"C:\\Windows\\system32\\svchost.exe\" -k netsvcs -p",
            "powershell.exe -nop -w hidden -enc SQBFAFgA", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding",
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer"]

limit = int(mb * 1e6)
written = 0
ts = 1713805173418
# per host: recent process ids, so DNS requests name processes that exist
recent = {h[0]: [] for h in hosts}
if nfiles:
    os.makedirs(out, exist_ok=True)
    per_file = max(1, limit // nfiles)
    fh = open(os.path.join(out, "batch-00001.ndjson"), "w")
else:
    fh = open(out, "w")
with fh:
    n = 0
    files = 1
    while written < limit:
        aid, cid = hosts[rng.randrange(len(hosts))]
        ts += rng.randrange(1, 40)
        n += 1
        if not recent[aid] or rng.random() < 0.5:
            r = dict(procs[n % len(procs)])
            tpid = str(rng.randrange(10**9, 10**13))
            parent = rng.choice(recent[aid]) if recent[aid] else str(rng.randrange(10**9, 10**13))
            r["TargetProcessId"] = tpid
            r["ParentProcessId"] = parent
            r["SourceProcessId"] = parent
            r["RawProcessId"] = str(rng.randrange(4, 65536, 4))
            r["ProcessStartTime"] = "%.3f" % ((ts - rng.randrange(50, 500)) / 1000)
            if r.get("event_platform") == "Win":
                r["CommandLine"] = rng.choice(commands)
            recent[aid].append(tpid)
            if len(recent[aid]) > 64:
                recent[aid].pop(0)
        else:
            r = dict(dns[n % len(dns)])
            r["ContextProcessId"] = rng.choice(recent[aid])
            r["ContextTimeStamp"] = "%.3f" % ((ts - 2) / 1000)
            r["DomainName"] = rng.choice(domains)
        r["aid"], r["cid"] = aid, cid
        r["id"] = "%08x-%04x-11eb-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(48))
        r["timestamp"] = str(ts)
        line = json.dumps(r, separators=(",", ":")) + "\n"
        if nfiles and written >= files * per_file and files < nfiles:
            fh.close()
            files += 1
            fh = open(os.path.join(out, "batch-%05d.ndjson" % files), "w")
        fh.write(line)
        written += len(line)
    fh.close()
print(f"{out}: {n} records, {written / 1e6:.0f} MB" + (f" in {files} files" if nfiles else ""), file=sys.stderr)
