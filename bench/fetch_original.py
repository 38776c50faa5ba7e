#!/usr/bin/env python3
"""fetch_original.py - what the original LO2 fetcher does for metrics, for bench/fetch-bench:
per metric name, serially, GET /api/v1/query_range (ISO-8601 start/end, step) with requests,
and json.dump(result, f, indent=4) into metric_<name>.json when the result is not empty.
Usage: fetch_original.py PROM_URL NAMES_FILE START END STEP_SECONDS OUT_DIR"""
import json
import os
import sys
from datetime import datetime, timezone

import requests


def main():
    prom, names_file, start, end, step, out = sys.argv[1:7]
    start = datetime.fromtimestamp(int(start), tz=timezone.utc)
    end = datetime.fromtimestamp(int(end), tz=timezone.utc)
    os.makedirs(out, exist_ok=True)
    with open(names_file) as f:
        names = [line.strip() for line in f if line.strip()]
    for name in names:
        r = requests.get(f"{prom}/api/v1/query_range",
                         params={"query": name, "start": start.isoformat(), "end": end.isoformat(),
                                 "step": f"{step}s"})
        if r.status_code == 200:
            result = r.json()["data"]["result"]
            if result:
                with open(os.path.join(out, f"metric_{name.replace('/', '_')}.json"), "w") as f:
                    json.dump(result, f, indent=4)
        else:
            print(f"Failed to fetch {name}: {r.status_code}", file=sys.stderr)
    with open(os.path.join(out, "last_fetch_time.txt"), "w") as f:
        f.write(end.isoformat())


if __name__ == "__main__":
    main()
