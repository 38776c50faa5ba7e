"""lab.py - what every lo2 lab service shares: the HTTP server, light-4j-like logging, the
MariaDB connection pool (retrying until the database and its schema are there), the
light-oauth2 error statuses, and hand-written Prometheus metrics.

Python standard library + PyMySQL only; one process per service (ThreadingHTTPServer, one
thread per connection).

Log line (stdout, one per line, UTC):
    HH:MM:SS.mmm [XNIO-1 task-N] <correlation id> LEVEL logger - message
Every API request ends with one INFO line of the audit logger (endpoint, status, time); every
4xx/5xx the service returns is preceded by an ERROR (4xx: the cause, as light-oauth2's handlers
log their Status) line. /health and /metrics are not logged (Prometheus scrapes every second).
"""
import base64
import hashlib
import hmac
import json
import os
import queue
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

# ---------------------------------------------------------------------------------------------
# logging

_out_lock = threading.Lock()
_local = threading.local()
_task_seq = [0]


def _now_hms():
    t = time.time()
    return time.strftime("%H:%M:%S", time.gmtime(t)) + ".%03d" % int((t % 1) * 1000)


def log(level, logger, msg):
    """One light-4j-like line: time [thread] cId LEVEL logger - msg."""
    thread = getattr(_local, "thread", "main")
    cid = getattr(_local, "cid", "")
    line = "%s [%s] %s %-5s %s - %s\n" % (_now_hms(), thread, cid, level, logger, msg)
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# light-oauth2 statuses (code -> HTTP status, message, description); the codes follow
# light-4j/light-oauth2's status.yml where they exist there.

STATUS = {
    "ERR10010": (500, "RUNTIME_EXCEPTION", "Unexpected runtime exception"),
    "ERR10051": (503, "SERVICE_UNAVAILABLE", "The database is not ready: %s"),
    "ERR10008": (404, "ENDPOINT_NOT_FOUND", "Endpoint %s is not found"),
    "ERR11000": (400, "VALIDATOR_REQUEST_PARAMETER_QUERY_MISSING",
                 "Query parameter %s is required on path %s but not found in request."),
    "ERR11004": (400, "VALIDATOR_SCHEMA", "Schema Validation Error - %s"),
    "ERR11014": (400, "VALIDATOR_REQUEST_BODY_MISSING", "Method %s on path %s requires a request body. None found."),
    "ERR12000": (400, "UNABLE_TO_PARSE_FORM_DATA", "Unable to parse x-www-form-urlencoded form data: %s"),
    "ERR12001": (400, "UNSUPPORTED_GRANT_TYPE", "Unsupported grant type %s. Only authorization_code, client_credentials, password and refresh_token are supported."),
    "ERR12002": (400, "MISSING_AUTHORIZATION_HEADER", "Missing authorization header. client credentials must be passed in as Authorization header."),
    "ERR12003": (401, "INVALID_AUTHORIZATION_HEADER", "Invalid authorization header %s"),
    "ERR12004": (401, "INVALID_BASIC_CREDENTIALS", "Invalid basic credentials %s"),
    "ERR12007": (401, "UNAUTHORIZED_CLIENT", "Unauthorized client with wrong client secret."),
    "ERR12008": (400, "INVALID_AUTHORIZATION_CODE", "Invalid authorization code %s"),
    "ERR12013": (404, "USER_NOT_FOUND", "User %s is not found."),
    "ERR12014": (404, "CLIENT_NOT_FOUND", "Client %s is not found."),
    "ERR12015": (404, "SERVICE_NOT_FOUND", "Service %s is not found."),
    "ERR12016": (401, "INCORRECT_PASSWORD", "Incorrect password."),
    "ERR12017": (404, "TOKEN_NOT_FOUND", "Token %s is not found."),
    "ERR12018": (400, "PASSWORD_NOT_MATCH", "New password and password confirm do not match."),
    "ERR12019": (400, "SERVICE_ID_EXISTS", "Service id %s exists."),
    "ERR12020": (400, "USER_ID_EXISTS", "User id %s exists."),
    "ERR12021": (400, "EMAIL_EXISTS", "Email %s exists."),
    "ERR12023": (400, "PASSWORD_REQUIRED", "Password is required for user %s."),
    "ERR12024": (401, "NOT_TRUSTED_CLIENT", "The client is not trusted for the password grant type."),
    "ERR12033": (400, "INVALID_CODE_CHALLENGE_METHOD", "Invalid PKCE code challenge method %s."),
    "ERR12034": (400, "CODE_CHALLENGE_TOO_SHORT", "PKCE code challenge %s is too short."),
    "ERR12035": (400, "CODE_CHALLENGE_TOO_LONG", "PKCE code challenge %s is too long."),
    "ERR12036": (400, "INVALID_CODE_CHALLENGE_FORMAT", "PKCE code challenge %s has an invalid format."),
    "ERR12037": (400, "CODE_VERIFIER_TOO_SHORT", "PKCE code verifier %s is too short."),
    "ERR12038": (400, "CODE_VERIFIER_TOO_LONG", "PKCE code verifier %s is too long."),
    "ERR12039": (400, "INVALID_CODE_VERIFIER_FORMAT", "PKCE code verifier %s has an invalid format."),
    "ERR12040": (400, "CODE_VERIFIER_MISSING", "PKCE code verifier is missing."),
    "ERR12041": (400, "CODE_VERIFIER_FAILED", "PKCE verification failed."),
    "ERR12042": (400, "INVALID_RESPONSE_TYPE", "Invalid response type %s, only code is supported."),
}


class ApiError(Exception):
    """Raised by a handler: the response is the status JSON; the cause is logged at ERROR."""

    def __init__(self, code, *args, cause=None):
        status, message, desc = STATUS[code]
        self.status = status
        self.body = {
            "statusCode": status,
            "code": code,
            "message": message,
            "description": desc % args if "%s" in desc else desc,
            "severity": "ERROR",
        }
        self.cause = cause  # extra words for the log line (e.g. "clientId = x")
        super().__init__(code)


# ---------------------------------------------------------------------------------------------
# passwords and secrets: PBKDF2WithHmacSHA1 "1000:<salt hex>:<hash hex>" as light-4j HashUtil


def hash_password(password):
    salt = secrets.token_bytes(16)
    h = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, 1000, 64)
    return "1000:%s:%s" % (salt.hex(), h.hex())


def check_password(password, stored):
    try:
        it, salt, h = stored.split(":")
        got = hashlib.pbkdf2_hmac("sha1", password.encode(), bytes.fromhex(salt), int(it), len(h) // 2)
        return hmac.compare_digest(got.hex(), h)
    except (ValueError, AttributeError):
        return False


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def new_id():
    """A light-4j-like 22 character id (base64url of 16 random bytes)."""
    return b64url(secrets.token_bytes(16))


# ---------------------------------------------------------------------------------------------
# metrics: counters by endpoint/method/status, request time sums, DB counters, process metrics

_metrics_lock = threading.Lock()
_requests = {}   # (endpoint, method, status) -> count
_durations = {}  # (endpoint, method) -> [sum seconds, count]
_db = {"queries": 0, "errors": 0, "reconnects": 0}
_start_time = time.time()


def _observe(endpoint, method, status, seconds):
    with _metrics_lock:
        k = (endpoint, method, str(status))
        _requests[k] = _requests.get(k, 0) + 1
        d = _durations.setdefault((endpoint, method), [0.0, 0])
        d[0] += seconds
        d[1] += 1


def _esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _process_metrics():
    out = []
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / tck
        rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        out += ["# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
                "# TYPE process_cpu_seconds_total counter",
                "process_cpu_seconds_total %.2f" % cpu,
                "# HELP process_resident_memory_bytes Resident memory size in bytes.",
                "# TYPE process_resident_memory_bytes gauge",
                "process_resident_memory_bytes %d" % rss]
    except (OSError, IndexError, ValueError):
        pass
    try:
        fds = len(os.listdir("/proc/self/fd"))
        out += ["# HELP process_open_fds Number of open file descriptors.",
                "# TYPE process_open_fds gauge", "process_open_fds %d" % fds]
    except OSError:
        pass
    out += ["# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge", "process_start_time_seconds %.3f" % _start_time]
    return out


def metrics_text(service, pool):
    lines = ["# HELP lab_http_requests_total API requests served, by endpoint, method and status.",
             "# TYPE lab_http_requests_total counter"]
    with _metrics_lock:
        reqs = sorted(_requests.items())
        durs = sorted(_durations.items())
        db = dict(_db)
    for (ep, m, st), n in reqs:
        lines.append('lab_http_requests_total{service="%s",endpoint="%s",method="%s",status="%s"} %d'
                     % (service, _esc(ep), m, st, n))
    lines += ["# HELP lab_http_request_duration_seconds Time spent serving API requests.",
              "# TYPE lab_http_request_duration_seconds summary"]
    for (ep, m), (s, n) in durs:
        lab = 'service="%s",endpoint="%s",method="%s"' % (service, _esc(ep), m)
        lines.append("lab_http_request_duration_seconds_sum{%s} %.6f" % (lab, s))
        lines.append("lab_http_request_duration_seconds_count{%s} %d" % (lab, n))
    lines += ["# HELP lab_db_queries_total SQL statements executed.",
              "# TYPE lab_db_queries_total counter",
              'lab_db_queries_total{service="%s"} %d' % (service, db["queries"]),
              "# HELP lab_db_errors_total SQL statements that failed.",
              "# TYPE lab_db_errors_total counter",
              'lab_db_errors_total{service="%s"} %d' % (service, db["errors"]),
              "# HELP lab_db_reconnects_total Connections to MariaDB opened after the first.",
              "# TYPE lab_db_reconnects_total counter",
              'lab_db_reconnects_total{service="%s"} %d' % (service, db["reconnects"]),
              "# HELP lab_db_pool_idle_connections Idle connections in the pool.",
              "# TYPE lab_db_pool_idle_connections gauge",
              'lab_db_pool_idle_connections{service="%s"} %d' % (service, pool.idle()),
              "# HELP lab_db_up Whether the last connection attempt to MariaDB succeeded.",
              "# TYPE lab_db_up gauge",
              'lab_db_up{service="%s"} %d' % (service, 1 if pool.up else 0),
              "# HELP lab_http_threads Threads of the service (one per open connection).",
              "# TYPE lab_http_threads gauge",
              'lab_http_threads{service="%s"} %d' % (service, threading.active_count())]
    lines += _process_metrics()
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# MariaDB: a small pool; connect retries forever (MariaDB restarts once during its first init);
# a missing table (the schema comes after the services start) is retried for a few seconds.

ER_NO_SUCH_TABLE = 1146
ER_BAD_DB = 1049
_LOST = (2002, 2003, 2006, 2013, 2055)


class Pool:
    def __init__(self, logger, size=4):
        self.logger = logger
        self.size = size
        self.q = queue.LifoQueue()
        self.up = False
        self.opened = 0
        self.cfg = dict(
            host=os.environ.get("DB_HOST", "mysqldb"),
            port=int(os.environ.get("DB_PORT", "3306")),
            user=os.environ.get("DB_USER", "mysqluser"),
            password=os.environ.get("DB_PASSWORD", "mysqlpw"),
            database=os.environ.get("DB_NAME", "oauth2"),
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
            read_timeout=30,
            write_timeout=30,
            cursorclass=pymysql.cursors.DictCursor,
        )

    def idle(self):
        return self.q.qsize()

    def _connect(self):
        conn = pymysql.connect(**self.cfg)
        with _metrics_lock:
            if self.opened:
                _db["reconnects"] += 1
        self.opened += 1
        return conn

    def wait_ready(self):
        """Blocks until a connection works (logging each failure, every 2 s)."""
        n = 0
        while True:
            try:
                conn = self._connect()
                conn.ping(reconnect=False)
                self.q.put(conn)
                self.up = True
                log("INFO", self.logger, "connected to MariaDB %s:%d/%s as %s"
                    % (self.cfg["host"], self.cfg["port"], self.cfg["database"], self.cfg["user"]))
                return
            except pymysql.err.MySQLError as e:
                n += 1
                log("WARN", self.logger, "MariaDB is not ready (attempt %d): %s" % (n, e))
                time.sleep(2)

    def _get(self):
        try:
            return self.q.get_nowait()
        except queue.Empty:
            return self._connect()

    def _put(self, conn):
        if self.q.qsize() < self.size:
            self.q.put(conn)
        else:
            conn.close()

    def run(self, fn):
        """fn(cursor) inside one connection; retries lost connections and missing tables."""
        deadline = time.time() + 10
        while True:
            try:
                conn = self._get()
            except pymysql.err.MySQLError as e:
                self.up = False
                if time.time() > deadline:
                    raise ApiError("ERR10051", str(e))
                time.sleep(0.5)
                continue
            self.up = True
            try:
                with conn.cursor() as cur:
                    r = fn(cur)
                self._put(conn)
                return r
            except pymysql.err.MySQLError as e:
                with _metrics_lock:
                    _db["errors"] += 1
                code = e.args[0] if e.args else 0
                if code in _LOST or isinstance(e, pymysql.err.InterfaceError):
                    try:
                        conn.close()
                    except Exception:
                        pass
                    if time.time() < deadline:
                        continue
                    raise ApiError("ERR10051", str(e))
                self._put(conn)
                if code in (ER_NO_SUCH_TABLE, ER_BAD_DB):
                    if time.time() < deadline:
                        time.sleep(0.5)
                        continue
                    raise ApiError("ERR10051", str(e))
                raise

    def query(self, sql, args=None):
        def fn(cur):
            with _metrics_lock:
                _db["queries"] += 1
            cur.execute(sql, args)
            return cur.fetchall()
        return self.run(fn)

    def one(self, sql, args=None):
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def execute(self, sql, args=None):
        """Returns the affected row count."""
        def fn(cur):
            with _metrics_lock:
                _db["queries"] += 1
            return cur.execute(sql, args)
        return self.run(fn)


# ---------------------------------------------------------------------------------------------
# HTTP


class Request:
    def __init__(self, handler, path, query, params):
        self.h = handler
        self.path = path
        self.query = query        # dict name -> first value
        self.params = params      # path parameters
        self.headers = handler.headers
        self._body = handler._body

    def json(self):
        if not self._body:
            raise ApiError("ERR11014", self.h.command.lower(), self.path)
        try:
            v = json.loads(self._body)
        except ValueError as e:
            raise ApiError("ERR11004", "body is not JSON: %s" % e)
        if not isinstance(v, dict):
            raise ApiError("ERR11004", "body must be an object")
        return v

    def form(self):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            raise ApiError("ERR12000", "Content-Type %s is not application/x-www-form-urlencoded" % (ctype or "missing"),
                           cause="content type = %s" % (ctype or "none"))
        try:
            pairs = urllib.parse.parse_qsl(self._body.decode(), keep_blank_values=True, strict_parsing=bool(self._body))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError("ERR12000", str(e))
        return dict(pairs)

    def need_query(self, name):
        v = self.query.get(name)
        if v is None or v == "":
            raise ApiError("ERR11000", name, self.path, cause="query parameter %s missing" % name)
        return v


class Response:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class App:
    """routes: list of (method, template, logger, fn(req, pool) -> Response or JSON body)."""

    def __init__(self, service, port, routes):
        self.service = service
        self.port = port
        self.routes = [(m, t, t.strip("/").split("/"), lg, fn) for (m, t, lg, fn) in routes]
        self.pool = Pool("c.n.o.%s.StartupHook" % service.split("-")[-1][0])

    def match(self, method, path):
        parts = path.strip("/").split("/")
        found_path = False
        for m, t, tparts, lg, fn in self.routes:
            if len(tparts) != len(parts):
                continue
            params = {}
            for tp, p in zip(tparts, parts):
                if tp.startswith("{"):
                    if not p:
                        break
                    params[tp[1:-1]] = urllib.parse.unquote(p)
                elif tp != p:
                    break
            else:
                found_path = True
                if m == method:
                    return t, lg, fn, params
        return None, None, None, found_path

    def serve(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def version_string(self):
                return "lo2-lab"

            def log_message(self, fmt, *args):  # no stderr access log; the audit line replaces it
                pass

            def _send(self, status, body, headers=None, ctype="application/json"):
                if isinstance(body, (dict, list)):
                    data = json.dumps(body).encode()
                elif isinstance(body, str):
                    data = body.encode()
                elif body is None:
                    data = b""
                else:
                    data = body
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(n) if n > 0 else b""
                u = urllib.parse.urlsplit(self.path)
                path = u.path
                if path == "/health":
                    ok = app.pool.up
                    return self._send(200 if ok else 503, {"status": "OK" if ok else "DB_DOWN"})
                if path == "/metrics":
                    return self._send(200, metrics_text(app.service, app.pool),
                                      ctype="text/plain; version=0.0.4; charset=utf-8")
                t0 = time.time()
                _task_seq[0] += 1
                _local.thread = "XNIO-1 task-%d" % (_task_seq[0] % 16 + 1)
                _local.cid = self.headers.get("X-Correlation-Id") or new_id()
                query = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
                tmpl, logger, fn, params = app.match(self.command, path)
                status, body, headers = 200, None, {}
                endpoint = "%s@%s" % (tmpl or path, self.command.lower())
                try:
                    if fn is None:
                        logger = "c.n.h.Handler"
                        raise ApiError("ERR10008", "%s@%s" % (path, self.command.lower()),
                                       cause="no handler for %s %s" % (self.command, path))
                    r = fn(Request(self, path, query, params), app.pool)
                    if isinstance(r, Response):
                        status, body, headers = r.status, r.body, r.headers
                    else:
                        body = r
                except ApiError as e:
                    status, body = e.status, e.body
                    msg = "%s %s %s" % (e.body["code"], e.body["message"], e.body["description"])
                    if e.cause:
                        msg += " (%s)" % e.cause
                    log("ERROR", logger, msg)
                except Exception as e:  # a bug or a database error: 500, logged with its type
                    status = 500
                    body = ApiError("ERR10010").body
                    log("ERROR", logger or "c.n.h.Handler", "ERR10010 RUNTIME_EXCEPTION %s: %s" % (type(e).__name__, e))
                cid = _local.cid
                headers = dict(headers, **{"X-Correlation-Id": cid})
                try:
                    self._send(status, body, headers)
                except ConnectionError:  # the client went away (Locust stopping): still audited
                    self.close_connection = True
                dt = time.time() - t0
                _observe(tmpl or "unknown", self.command, status, dt)
                log("INFO", "c.n.a.AuditHandler", json.dumps({
                    "timestamp": int(t0 * 1000), "serviceId": app.service,
                    "X-Correlation-Id": cid, "endpoint": endpoint,
                    "statusCode": status, "responseTime": int(dt * 1000)}))
                _local.cid = ""
                _local.thread = "main"

            def do_GET(self):
                self._handle()

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # a client resetting its keep-alive connection (Locust stopping) is not an error;
                # anything else is one line, not socketserver's traceback on stderr
                e = sys.exc_info()[1]
                if isinstance(e, (ConnectionError, TimeoutError)):
                    return
                log("ERROR", "c.n.s.Server", "request from %s failed: %s: %s" % (client_address[0], type(e).__name__, e))

        server = Server(("0.0.0.0", self.port), Handler)
        log("INFO", "c.n.s.Server", "%s listening on 0.0.0.0:%d" % (self.service, self.port))
        threading.Thread(target=self.pool.wait_ready, daemon=True).start()
        import signal

        def stop(sig, frame):
            log("INFO", "c.n.s.Server", "%s stopping (signal %d)" % (self.service, sig))
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server.serve_forever()
        log("INFO", "c.n.s.Server", "%s stopped" % self.service)


def page_args(req):
    """page (required, 0-based: rows page*pageSize ...) and pageSize (default 10, at most 100)."""
    page = req.need_query("page")
    try:
        page = int(page)
        size = int(req.query.get("pageSize") or 10)
    except ValueError:
        raise ApiError("ERR11004", "page and pageSize must be integers", cause="page = %s" % page)
    if page < 0 or size < 1 or size > 100:
        raise ApiError("ERR11004", "page >= 0 and 1 <= pageSize <= 100", cause="page = %s pageSize = %s" % (page, size))
    return page, size
