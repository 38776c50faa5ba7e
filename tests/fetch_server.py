#!/usr/bin/env python3
"""fetch_server.py - a stand-in Prometheus and Jaeger for lo2's fetch tests, on 127.0.0.1 only.
Prints the port it listens on, then serves until killed. Metrics by query name:
good/many/empty (recorded answers in tests/fixtures/fetch), bad (400 bad_data), proxy (502 HTML),
trunc (body cut short), stall (half a body, then silence), flaky (503 once, then good).
Jaeger: /api/services; /api/traces for svc (recorded), busy (50 traces, 1 s apart from
1739746400 s, newest first, cut at limit as Jaeger does), huge (20000 traces of 4 spans, about
75 MB, streamed without a Content-Length), anything else (none)."""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "fetch")
NAMES = ["good", "many", "empty", "bad", "proxy", "trunc", "stall", "flaky"]
seen_flaky = []


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/api/v1/label/__name__/values":
            return self.send(200, json.dumps({"status": "success", "data": NAMES}).encode())
        if u.path == "/api/v1/query_range":
            return self.query(q.get("query", ""))
        if u.path == "/api/services":
            return self.send(200, fixture("services.json"))
        if u.path == "/api/traces":
            return self.traces(q)
        self.send(404, b"404 page not found", "text/plain")

    def query(self, name):
        good = fixture("unicode.json")
        if name in ("good", "many", "empty"):
            return self.send(200, fixture({"good": "unicode.json"}.get(name, name + ".json")))
        if name == "bad":
            return self.send(400, fixture("error.json"))
        if name == "proxy":
            return self.send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if name == "trunc":
            self.send(200, good[: len(good) // 2], length=len(good))
            self.close_connection = True
            return
        if name == "stall":
            self.send(200, good[: len(good) // 2], length=len(good))
            time.sleep(60)
            return
        if name == "flaky":
            if not seen_flaky:
                seen_flaky.append(1)
                body = b'{"status":"error","errorType":"unavailable","error":"try later"}'
                return self.send(503, body)
            return self.send(200, good)
        self.send(200, fixture("empty.json"))

    def huge(self):
        """20000 traces of 4 spans: h00000..h19999, spans s<trace>-<0..3>."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        tags = [{"key": "k%d" % i, "type": "string", "value": "v" * 40} for i in range(8)]
        tags += [{"key": "n", "type": "int64", "value": 7}, {"key": "f", "type": "float64", "value": 0.25}]
        self.wfile.write(b'{"data": [')
        for t in range(20000):
            spans = [{"traceID": "h%05d" % t, "spanID": "s%05d-%d" % (t, k), "operationName": "op %d" % k,
                      "startTime": 1739746400000000 + t, "duration": 10, "tags": tags, "processID": "p1"}
                     for k in range(4)]
            trace = {"traceID": "h%05d" % t, "spans": spans, "processes": {"p1": {"serviceName": "huge"}}}
            self.wfile.write((", " if t else "").encode() + json.dumps(trace).encode())
        self.wfile.write(b'], "total": 0, "limit": 0, "offset": 0, "errors": null}')

    def traces(self, q):
        service = q.get("service", "")
        if service == "svc":
            return self.send(200, fixture("traces.json"))
        if service == "huge":
            return self.huge()
        data = []
        if service == "busy":
            start, end, limit = int(q["start"]), int(q["end"]), int(q.get("limit", 100))
            for i in reversed(range(50)):
                t = (1739746400 + i) * 1000000
                if start <= t <= end and len(data) < limit:
                    span = {"traceID": "t%02d" % i, "spanID": "s%02d" % i, "operationName": "op",
                            "startTime": t, "duration": 10, "tags": [], "processID": "p1"}
                    data.append({"traceID": "t%02d" % i, "spans": [span], "processes": {}})
        self.send(200, json.dumps({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None}).encode())


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, client_address: None  # clients that hang up are expected
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
