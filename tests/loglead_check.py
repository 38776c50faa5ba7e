"""loglead_check.py EXPORT_DIR - LogLead's LO2Loader on a `lo2 export --format lo2` folder
(one run): load, preprocess, metrics, and the row counts checked against the files.

- execute() succeeds; its normal rows equal the non-blank lines of the correct folder's
  oauth2-oauth2- files (LO2Loader keeps only those, and every line must carry the HH:MM:SS.mmm
  time it parses, or it would be dropped);
- with every error case drawn, each loaded error case is a test folder and its anomaly rows
  equal that folder's lines; with one drawn at a time, whatever is drawn and loaded is a test;
- load_metrics() succeeds and holds one row per node_load1 sample of job "node".
Prints the counts; exits 1 with the reason on a mismatch.
"""
import json
import os
import random
import sys

from loglead.loaders import LO2Loader


def lines_of(folder):
    n = 0
    for name in os.listdir(folder):
        p = os.path.join(folder, name)
        if "oauth2-oauth2-" in name and os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                n += sum(1 for line in f if line.strip())
    return n


def fail(msg):
    print("loglead_check: " + msg, file=sys.stderr)
    sys.exit(1)


root = sys.argv[1]
runs = [r for r in os.listdir(root) if os.path.isdir(os.path.join(root, r))]
if len(runs) != 1:
    fail("expected one run in %s, found %s" % (root, runs))
run = os.path.join(root, runs[0])
tests = sorted(t for t in os.listdir(run) if os.path.isdir(os.path.join(run, t)))
errors = [t for t in tests if t != "correct"]
if "correct" not in tests or not errors:
    fail("the run needs correct and an error test, has %s" % tests)

loader = LO2Loader(root, n_runs=1, errors_per_run=len(os.listdir(run)), dup_errors=True)
df = loader.execute()
if df is None or len(df) == 0:
    fail("execute() loaded nothing")
normal = df.filter(df["normal"]).height
want = lines_of(os.path.join(run, "correct"))
if normal != want:
    fail("normal rows %d != %d lines in correct/*oauth2-oauth2-*" % (normal, want))
loaded = sorted(set(df["test_case"].to_list()) - {"correct"})
if loaded != errors:
    fail("error cases loaded %s, the run's tests are %s" % (loaded, errors))
counts = {}
for t in errors:
    got = df.filter(df["test_case"] == t).height
    want = lines_of(os.path.join(run, t))
    if got != want or not df.filter(df["test_case"] == t)["anomaly"].all():
        fail("test %s: %d anomaly rows, %d lines" % (t, got, want))
    counts[t] = got
for seed in range(5):
    random.seed(seed)
    one = LO2Loader(root, n_runs=1, errors_per_run=1, dup_errors=True)
    one.load()
    drawn = set(one.df["test_case"].to_list()) - {"correct"} if one.df is not None else set()
    if not drawn <= set(errors):
        fail("drew %s, not a test" % drawn)

loader.load_metrics()
if loader.metrics_df is None:
    fail("load_metrics() loaded nothing")
want = 0
for t in tests:
    p = os.path.join(run, t, "metrics", "metric_node_load1.json")
    if os.path.exists(p):
        for series in json.load(open(p)):
            if series["metric"].get("job") == "node":
                want += len(series["values"])
if loader.metrics_df.height != want:
    fail("metrics rows %d != %d node_load1 samples" % (loader.metrics_df.height, want))
print(json.dumps({"normal_rows": normal, "anomaly_rows": counts, "metric_rows": want}))
