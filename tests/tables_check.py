"""tables_check.py RUN_DIR TABLES_DIR - reads back every file of `lo2 export --format tables`
with Python's csv and gzip modules and checks the row counts against the run itself: one logs
row per line of the complete tests' container logs, one metrics row per sample of their
metric_*.json files, one events row per event in run.json. Prints the counts; exits 1 on a
mismatch."""
import csv
import gzip
import json
import os
import sys

run, tables = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(run, "run.json")))
want = {"logs": 0, "metrics": 0, "events": 0, "traces": 0}
for t in manifest["tests"]:
    if t.get("status") != "complete":
        continue
    folder = os.path.join(run, t["tag"])
    for name in os.listdir(folder):
        p = os.path.join(folder, name)
        if name.endswith(".log.gz") or (name.endswith(".log") and name != "locust.log"):
            with (gzip.open(p, "rb") if name.endswith(".gz") else open(p, "rb")) as f:
                want["logs"] += sum(1 for _ in f)
    for name in os.listdir(os.path.join(folder, "metrics")):
        p = os.path.join(folder, "metrics", name)
        if name.startswith("metric_") and name.endswith(".json"):
            want["metrics"] += sum(len(s["values"]) for s in json.load(open(p)))
        elif name.startswith("traces_") and name.endswith(".csv"):
            with open(p, newline="") as f:
                want["traces"] += max(0, sum(1 for _ in csv.reader(f)) - 1)
    want["events"] += len(t.get("events", []))
got = {}
for table in want:
    p = os.path.join(tables, table + ".csv.gz")
    if not os.path.exists(p):
        got[table] = 0
        continue
    with gzip.open(p, "rt", encoding="utf-8", errors="surrogateescape", newline="") as f:
        rows = list(csv.reader(f))
    width = len(rows[0])
    bad = [i for i, r in enumerate(rows) if len(r) != width]
    if bad:
        print("tables_check: %s: row %d has %d fields, header %d" % (table, bad[0], len(rows[bad[0]]), width),
              file=sys.stderr)
        sys.exit(1)
    got[table] = len(rows) - 1
print(json.dumps(got))
if got != want:
    print("tables_check: rows %s, the run has %s" % (got, want), file=sys.stderr)
    sys.exit(1)
