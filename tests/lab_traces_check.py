#!/usr/bin/env python3
"""lab_traces_check.py RUN_DIR PROJECT TEST - the traces lo2 received from the lab for one test:
every API request a service logged (its AuditHandler line) is one server span of that service;
the requests of one Locust task share a trace across services (a code, then its token); a
server span's parent is the caller's span (the traceparent Locust sent, not a span of the lab);
every SQL span is the child of a server span of the same service and trace. Prints the counts;
exits 1 with the reason on the first failure."""
import collections
import gzip
import json
import os
import sys

run, project, test = sys.argv[1:4]
SERVICES = ["code", "token", "service", "client", "user", "key", "refresh-token"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def service_of(span):
    for a in span["resource"]["attributes"]:
        if a["key"] == "service.name":
            return a["value"]["stringValue"]
    return None


spans = [json.loads(l) for l in gzip.open(os.path.join(run, test, "metrics", "traces.otlp.jsonl.gz"), "rt")]
by_id = {(s["traceId"], s["spanId"]): s for s in spans}
server = [s for s in spans if s["kind"] == 2]
for svc in SERVICES:
    log = os.path.join(run, test, "%s-oauth2-%s-1.log.gz" % (project, svc))
    audits = sum(1 for l in gzip.open(log, "rt", errors="replace") if " c.n.a.AuditHandler " in l)
    name = "oauth2-%s-service" % svc
    n = sum(1 for s in server if service_of(s) == name)
    print("%-28s %5d audited requests, %5d server spans" % (name, audits, n))
    if audits != n:
        fail("%s logged %d requests and sent %d server spans" % (name, audits, n))
traces = collections.defaultdict(set)
for s in server:
    traces[s["traceId"]].add(service_of(s))
multi = [t for t, svcs in traces.items() if len(svcs) > 1]
print("traces: %d, across two services or more: %d" % (len(traces), len(multi)))
if not multi:
    fail("no trace spans two services")
for s in server:
    if not s.get("parentSpanId") or (s["traceId"], s["parentSpanId"]) in by_id:
        fail("server span %s: its parent is not the caller's span" % s["spanId"])
db = [s for s in spans if s["kind"] == 3]
for s in db:
    p = by_id.get((s["traceId"], s.get("parentSpanId")))
    if p is None or p["kind"] != 2 or service_of(p) != service_of(s):
        fail("SQL span %s is not the child of a request of %s" % (s["spanId"], service_of(s)))
print("SQL spans: %d, every one a child of its request's span" % len(db))
