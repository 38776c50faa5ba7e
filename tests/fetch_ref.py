#!/usr/bin/env python3
"""fetch_ref.py - the original LO2 fetcher's output logic, used by lo2's tests as the
reference only (lo2 never runs Python). Usage:
  fetch_ref.py prom  RESPONSE.json OUT.json   # json.dump(data.result, indent=4); no file when empty
  fetch_ref.py traces RESPONSE.json OUT.csv   # the original's traces CSV (header + rows)
"""
import csv
import json
import sys
from datetime import datetime, timezone


def prom(src, dst):
    with open(src, encoding="utf-8") as f:
        result = json.load(f)["data"]["result"]
    if not result:
        return
    with open(dst, "w") as f:
        json.dump(result, f, indent=4)


def traces(src, dst):
    with open(src, encoding="utf-8") as f:
        data = json.load(f)["data"]
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Trace ID", "Span ID", "Operation Name", "Start Time", "End Time", "Tags"])
        for trace in data:
            for span in trace["spans"]:
                start = datetime.fromtimestamp(span["startTime"] / 1e6, tz=timezone.utc)
                end = datetime.fromtimestamp((span["startTime"] + span["duration"]) / 1e6, tz=timezone.utc)
                tags = {t["key"]: t["value"] for t in span["tags"]}
                w.writerow([trace["traceID"], span["spanID"], span["operationName"],
                            start.isoformat(), end.isoformat(), str(tags)])


if __name__ == "__main__":
    {"prom": prom, "traces": traces}[sys.argv[1]](sys.argv[2], sys.argv[3])
