#!/usr/bin/env python3
"""fetch_merge_ref.py - what one query over a window gives when a server answered each of N
chunks with RESPONSE: every series' values N times in chunk order, series sorted as Prometheus
sorts them (label by label, name then value), written as json.dump(indent=4). Test reference.
Usage: fetch_merge_ref.py RESPONSE.json N OUT.json"""
import json
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    result = json.load(f)["data"]["result"]
n = int(sys.argv[2])
merged = []
for s in sorted(result, key=lambda s: [(k.encode(), v.encode()) for k, v in s["metric"].items()]):
    m = {"metric": s["metric"]}
    for key in ("values", "histograms"):
        if key in s:
            m[key] = s[key] * n
    merged.append(m)
with open(sys.argv[3], "w") as f:
    json.dump(merged, f, indent=4)
