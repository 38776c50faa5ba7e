"""lab.py - what every lab service shares, in one place: the HTTPS server and request handling
(routing, bodies, errors as light-4j Status JSON, the audit line), logging in light-oauth2's
logback format, client authentication, the MariaDB pool, passwords, JWT signing, and
hand-written Prometheus metrics. Every service is `App(service, port, routes).serve()`.

Python standard library + PyMySQL only; one process per service (ThreadingHTTPServer, one thread
per connection), TLS with the certificate baked into lo2-lab/oauth2 at image build time.

Cross-cutting additions belong here: every request passes through App._dispatch, every log line
through log(), every SQL statement through Pool.query/execute. Tracing is one (OpenTelemetry:
a SERVER span per request joining the caller's traceparent, a CLIENT span per SQL statement).

Log line (stdout, one per line, UTC), as light-oauth2's logback pattern
`%d{HH:mm:ss.SSS} [%thread] %X{sId} %X{cId} %-5level %logger{36} %M - %msg%n`:
    12:03:04.567 [XNIO-1 task-3] - 7891Yqfovd-2k7h5Nv9nzA ERROR c.n.o.c.h.Oauth2ClientClientIdGetHandler handleRequest - ...
sId is the request's X-Traceability-Id ("-" without one), cId its X-Correlation-Id (a new one
when absent; "-" outside a request). Every error answer is logged at ERROR with its Status JSON
(code, message, description) before it is sent; every API request ends with one INFO line of
c.n.a.AuditHandler. /health and /metrics are not logged (Prometheus scrapes every second).
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import queue
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

TLS_DIR = os.environ.get("TLS_DIR", "/etc/lo2-lab/tls")

# ---------------------------------------------------------------------------------------------
# tracing: OpenTelemetry (the SDK baked into lo2-lab/oauth2) exporting OTLP/HTTP protobuf to
# OTEL_EXPORTER_OTLP_ENDPOINT (lo2's receiver, ${LO2_OTLP_ENDPOINT} in the compose file). A
# request is a SERVER span that joins the caller's W3C trace context (traceparent); each SQL
# statement is a CLIENT child span. Without an endpoint (or the SDK) nothing is traced.

_tracer = None
_provider = None


def _init_tracing():
    global _tracer, _provider
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as e:
        log("WARN", "c.n.s.Server", "no tracing: %s" % e, "onStartup")
        return
    # service.name from OTEL_SERVICE_NAME; the batch delay from OTEL_BSP_SCHEDULE_DELAY
    _provider = TracerProvider(resource=Resource.create({}))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _tracer = _provider.get_tracer("lo2-lab")


class _NoSpan:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_attribute(self, k, v):
        pass

    def update_name(self, n):
        pass

    def set_error(self, msg):
        pass


class _Span:
    def __init__(self, cm):
        self.cm = cm

    def __enter__(self):
        self.span = self.cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)

    def set_attribute(self, k, v):
        self.span.set_attribute(k, v)

    def update_name(self, n):
        self.span.update_name(n)

    def set_error(self, msg):
        from opentelemetry.trace import Status, StatusCode
        self.span.set_status(Status(StatusCode.ERROR, msg))


def server_span(name, headers, attrs):
    """A request's span, child of the caller's traceparent header (a new trace without one)."""
    if _tracer is None:
        return _NoSpan()
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind
    return _Span(_tracer.start_as_current_span(name, context=propagate.extract(headers), kind=SpanKind.SERVER,
                                               attributes=attrs, record_exception=False,
                                               set_status_on_exception=False))


def db_span(sql):
    """A SQL statement's span, child of the current request's."""
    if _tracer is None:
        return _NoSpan()
    from opentelemetry.trace import SpanKind
    verb = (sql.split(None, 1) or ["SQL"])[0].upper()
    return _Span(_tracer.start_as_current_span(verb, kind=SpanKind.CLIENT, attributes={
        "db.system": "mysql", "db.name": os.environ.get("DB_NAME", "oauth2"), "db.statement": sql}))


def flush_tracing():
    if _provider is not None:
        _provider.shutdown()

# ---------------------------------------------------------------------------------------------
# logging

_out_lock = threading.Lock()
_local = threading.local()
_task_seq = [0]


def _now_hms():
    t = time.time()
    return time.strftime("%H:%M:%S", time.gmtime(t)) + ".%03d" % int((t % 1) * 1000)


def log(level, logger, msg, method="handleRequest"):
    """One logback line: time [thread] sId cId LEVEL logger method - msg (msg kept on one line)."""
    thread = getattr(_local, "thread", "main")
    sid = getattr(_local, "sid", "") or "-"
    cid = getattr(_local, "cid", "") or "-"
    msg = str(msg).replace("\r", "\\r").replace("\n", "\\n")
    line = "%s [%s] %s %s %-5s %s %s - %s\n" % (_now_hms(), thread, sid, cid, level, logger, method, msg)
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# light-4j statuses (code -> HTTP status, message, description), as light-4j's status.yml

STATUS = {
    "ERR10008": (405, "METHOD_NOT_ALLOWED", "Request method %s cannot be found in the path %s."),
    "ERR10007": (404, "INVALID_REQUEST_PATH", "Request path %s cannot be found in the spec."),
    "ERR10010": (500, "RUNTIME_EXCEPTION", "Unexpected runtime exception"),
    "ERR10017": (400, "SQL_EXCEPTION", "Sql Exception %s."),
    "ERR11000": (400, "VALIDATOR_REQUEST_PARAMETER_QUERY_MISSING",
                 "Query parameter %s is required on path %s but not found in request."),
    "ERR11003": (400, "VALIDATOR_SCHEMA_INVALID_JSON", "Unable to parse JSON - %s"),
    "ERR11004": (400, "VALIDATOR_SCHEMA", "Schema Validation Error - %s"),
    "ERR11014": (400, "VALIDATOR_REQUEST_BODY_MISSING", "Method %s on path %s requires a request body. None found."),
    "ERR12000": (400, "UNABLE_TO_PARSE_FORM_DATA", "Unable to parse x-www-form-urlencoded form data."),
    "ERR12001": (400, "UNSUPPORTED_GRANT_TYPE",
                 "Unsupported grant type %s. Only authorization_code and client_credentials are supported."),
    "ERR12002": (401, "MISSING_AUTHORIZATION_HEADER",
                 "Missing authorization header. client credentials must be passed in as Authorization header."),
    "ERR12003": (401, "INVALID_AUTHORIZATION_HEADER", "Invalid authorization header %s."),
    "ERR12004": (401, "INVALID_BASIC_CREDENTIALS", "Invalid Basic credentials %s."),
    "ERR12007": (401, "UNAUTHORIZED_CLIENT", "Unauthorized client with wrong client secret."),
    "ERR12008": (401, "INVALID_AUTHORIZATION_CODE", "Invalid Authorization Code %s."),
    "ERR12011": (400, "PASSWORD_OR_PASSWORDCONFIRM_EMPTY", "Password %s or PasswordConfirm %s is empty."),
    "ERR12012": (400, "PASSWORD_PASSWORDCONFIRM_NOT_MATCH", "Password %s and PasswordConfirm %s are not matched."),
    "ERR12013": (404, "USER_NOT_FOUND", "User %s is not found."),
    "ERR12014": (404, "CLIENT_NOT_FOUND", "Client %s is not found."),
    "ERR12015": (404, "SERVICE_NOT_FOUND", "Service %s is not found."),
    "ERR12016": (401, "INCORRECT_PASSWORD", "Incorrect password."),
    "ERR12017": (404, "KEY_NOT_FOUND", "Public key certificate keyId %s is not found."),
    "ERR12018": (400, "SERVICE_ID_EXISTS", "Service id %s exists."),
    "ERR12020": (400, "USER_ID_EXISTS", "User id %s exists."),
    "ERR12021": (400, "EMAIL_EXISTS", "Email %s exists."),
    "ERR12022": (400, "USERNAME_REQUIRED", "Username is required for password grant type."),
    "ERR12023": (400, "PASSWORD_REQUIRED", "Password is required for password grant type."),
    "ERR12024": (400, "NOT_TRUSTED_CLIENT", "Grant type is allowed only for trusted client type."),
    "ERR12026": (400, "MISMATCH_REDIRECT_URI",
                 "redirect_uri %s from token service is not identical as redirect_uri %s from code service."),
    "ERR12028": (400, "MISMATCH_CLIENT_ID", "client_id %s does not match previous client_id %s in refresh_token request."),
    "ERR12029": (404, "REFRESH_TOKEN_NOT_FOUND", "Refresh token %s is not found."),
    "ERR12033": (400, "INVALID_CODE_CHALLENGE_METHOD", "Invalid PKCE code challenge method %s."),
    "ERR12034": (400, "CODE_CHALLENGE_TOO_SHORT", "PKCE codeChallenge length under lower limit, codeChallenge = %s"),
    "ERR12035": (400, "CODE_CHALLENGE_TOO_LONG", "PKCE codeChallenge length over upper limit, codeChallenge = %s"),
    "ERR12036": (400, "INVALID_CODE_CHALLENGE_FORMAT", "PKCE codeChallenge format is invalid, codeChallenge = %s"),
    "ERR12037": (400, "INVALID_CODE_VERIFIER_FORMAT", "PKCE codeVerifier format is invalid, codeVerifier = %s"),
    "ERR12038": (400, "CODE_VERIFIER_TOO_SHORT", "PKCE codeVerifier length under lower limit , codeVerifier = %s"),
    "ERR12039": (400, "CODE_VERIFIER_TOO_LONG", "PKCE codeVerifier length over upper limit , codeVerifier = %s"),
    "ERR12040": (400, "CODE_VERIFIER_MISSING", "PKCE codeVerifier is not specified"),
    "ERR12041": (400, "CODE_VERIFIER_FAILED", "PKCE verification failed"),
    "ERR12052": (400, "AUTHORIZATION_CODE_NOT_FOUND",
                 "Authorization code %s not found when getting an authorization code token"),
}


class ApiError(Exception):
    """Raised by a handler: the answer is the Status JSON (or, with challenge, an empty 401 with
    WWW-Authenticate as undertow's basic authentication sends); it is logged at ERROR first."""

    def __init__(self, code, *args, challenge=None):
        status, message, desc = STATUS[code]
        self.status = status
        self.body = {"statusCode": status, "code": code, "message": message,
                     "description": desc % tuple("null" if a is None else a for a in args) if args
                     else desc.replace("%s", "null"), "severity": "ERROR"}  # Java formats null as "null"
        self.challenge = challenge
        super().__init__(code)

    def text(self):
        return json.dumps(self.body, separators=(",", ":"))


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
    """A light-4j-like 22 character id (base64url of 16 random bytes), as Util.getUUID()."""
    return b64url(secrets.token_bytes(16))


# ---------------------------------------------------------------------------------------------
# RS256 JWTs with the key made at image build time (PKCS#1 v1.5, SHA-256), kid "100" as
# light-oauth2's primary key


def _der(b, i):
    """(tag, content start, content end) of the DER element at b[i]."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def _der_ints(b, i, end):
    out = []
    while i < end:
        tag, s, e = _der(b, i)
        out.append(int.from_bytes(b[s:e], "big") if tag == 0x02 else (tag, s, e))
        i = e
    return out


def load_rsa_key(path):
    """(n, d) of a PEM RSA private key (PKCS#1 or PKCS#8)."""
    with open(path) as f:
        pem = f.read()
    der = base64.b64decode("".join(l for l in pem.splitlines() if l and not l.startswith("-----")))
    _, s, e = _der(der, 0)
    items = _der_ints(der, s, e)
    if isinstance(items[1], tuple):  # PKCS#8: version, algorithm, OCTET STRING(RSAPrivateKey)
        _, os_, oe = items[2]
        _, s, e = _der(der, os_)
        items = _der_ints(der, s, e)
    return items[1], items[3]


_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class Signer:
    def __init__(self, path, kid):
        self.n, self.d = load_rsa_key(path)
        self.kid = kid
        self.k = (self.n.bit_length() + 7) // 8

    def jwt(self, claims):
        head = b64url(json.dumps({"kid": self.kid, "alg": "RS256"}, separators=(",", ":")).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = ("%s.%s" % (head, body)).encode()
        t = _SHA256_PREFIX + hashlib.sha256(signing_input).digest()
        em = b"\x00\x01" + b"\xff" * (self.k - len(t) - 3) + b"\x00" + t
        sig = pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(self.k, "big")
        return "%s.%s" % (signing_input.decode(), b64url(sig))


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
                    % (self.cfg["host"], self.cfg["port"], self.cfg["database"], self.cfg["user"]), "onStartup")
                return
            except pymysql.err.MySQLError as e:
                n += 1
                log("WARN", self.logger, "MariaDB is not ready (attempt %d): %s" % (n, e), "onStartup")
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
                    raise ApiError("ERR10017", str(e))
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
                    raise ApiError("ERR10017", str(e))
                self._put(conn)
                if code in (ER_NO_SUCH_TABLE, ER_BAD_DB):
                    if time.time() < deadline:
                        time.sleep(0.5)
                        continue
                    raise ApiError("ERR10017", str(e))
                raise

    def query(self, sql, args=None):
        def fn(cur):
            with _metrics_lock:
                _db["queries"] += 1
            cur.execute(sql, args)
            return cur.fetchall()
        with db_span(sql):
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
        with db_span(sql):
            return self.run(fn)


# ---------------------------------------------------------------------------------------------
# requests


class Request:
    def __init__(self, handler, path, query, params):
        self.h = handler
        self.method = handler.command
        self.path = path
        self.query = query        # dict name -> first value
        self.params = params      # path parameters
        self.headers = handler.headers
        self.raw = handler._body

    def body(self):
        """The request body as an object: JSON, or a form (light-4j's body handler takes both)."""
        if not self.raw:
            raise ApiError("ERR11014", self.method.lower(), self.path)
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self.form()
        try:
            v = json.loads(self.raw)
        except ValueError as e:
            raise ApiError("ERR11003", str(e))
        if not isinstance(v, dict):
            raise ApiError("ERR11004", "$: %s found, object expected" % type(v).__name__)
        return v

    def form(self):
        """An x-www-form-urlencoded body, decoded as ISO-8859-1 as undertow's form parser does."""
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            raise ApiError("ERR12000")
        try:
            pairs = urllib.parse.parse_qsl(self.raw.decode("latin-1"), keep_blank_values=True,
                                           encoding="latin-1")
        except ValueError:
            raise ApiError("ERR12000")
        return dict(pairs)

    def need_query(self, name):
        v = self.query.get(name)
        if v is None:
            raise ApiError("ERR11000", name, self.path)
        return v


class Response:
    def __init__(self, status=200, body=None, headers=None, ctype="application/json"):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.ctype = ctype


def page_args(req, default_size=10):
    """page (required, 1-based as light-oauth2's handlers: rows (page-1)*pageSize ...) and
    pageSize (default 10)."""
    page = req.need_query("page")
    try:
        page = int(page)
        size = int(req.query.get("pageSize") or default_size)
    except ValueError:
        raise ApiError("ERR11004", "page and pageSize must be integers")
    if page < 1 or size < 1:
        raise ApiError("ERR11004", "page and pageSize must be at least 1")
    return page - 1, size


def basic_credentials(req):
    """(id, secret) of the Authorization header, as light-oauth2's token and key services read
    it: a missing header is ERR12002, a non-Basic one ERR12003, an undecodable one ERR12004."""
    auth = req.headers.get("Authorization")
    if auth is None or not auth.strip():
        raise ApiError("ERR12002")
    if auth[:6].lower() != "basic ":
        raise ApiError("ERR12003", auth)
    cred = auth[6:].strip()
    try:
        cred = base64.b64decode(cred, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("ERR12004", cred)
    if ":" not in cred:
        raise ApiError("ERR12004", cred)
    return cred.split(":", 1)


def authenticate_client(req, db):
    """The client row of the request's Basic credentials (ERR12014 unknown, ERR12007 wrong secret)."""
    cid, secret = basic_credentials(req)
    client = db.one("SELECT client_id, client_type, client_secret, scope, redirect_uri FROM client "
                    "WHERE client_id = %s", (cid,))
    if not client:
        raise ApiError("ERR12014", cid)
    if not check_password(secret, client["client_secret"]):
        raise ApiError("ERR12007")
    return client


# ---------------------------------------------------------------------------------------------
# the server


class App:
    """routes: list of (method, template, logger, fn(req, pool) -> Response or JSON body)."""

    def __init__(self, service, port, routes):
        self.service = service
        self.port = port
        self.routes = [(m, t, t.strip("/").split("/"), lg, fn) for (m, t, lg, fn) in routes]
        self.pool = Pool("c.n.s.Server")

    def match(self, method, path):
        parts = path.strip("/").split("/")
        found_path = None
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
                found_path = t
                if m == method:
                    return t, lg, fn, params
        return found_path, None, None, None

    def _dispatch(self, h, path, query):
        """One API request: (status, body, headers, ctype, endpoint template)."""
        tmpl, logger, fn, params = self.match(h.command, path)
        log("DEBUG", "c.n.c.CorrelationHandler", "cId = %s url = %s" % (_local.cid, h.path))
        try:
            if fn is None:
                logger = "c.n.o.v.ValidatorHandler"
                if tmpl:
                    raise ApiError("ERR10008", h.command, path)
                raise ApiError("ERR10007", path)
            log("DEBUG", logger, "%s %s params = %s query = %s" % (h.command, tmpl, params, query))
            r = fn(Request(h, path, query, params), self.pool)
            if isinstance(r, Response):
                return r.status, r.body, r.headers, r.ctype, tmpl
            return 200, r, {}, "application/json", tmpl
        except ApiError as e:
            log("ERROR", logger, e.text())
            if e.challenge:
                return e.status, None, {"WWW-Authenticate": e.challenge}, None, tmpl or path
            return e.status, e.body, {}, "application/json", tmpl or path
        except Exception as e:  # a bug or a database error: 500 with the runtime exception status
            err = ApiError("ERR10010")
            log("ERROR", logger or "c.n.h.Handler", "%s %s: %s" % (err.text(), type(e).__name__, e))
            return err.status, err.body, {}, "application/json", tmpl or path

    def serve(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def setup(self):
                self.request.settimeout(30)
                self.request.do_handshake()  # in the connection's thread, not the accept loop
                self.request.settimeout(None)
                super().setup()

            def version_string(self):
                return "L"

            def log_message(self, fmt, *args):  # no stderr access log; the audit line replaces it
                pass

            def _send(self, status, body, headers=None, ctype="application/json"):
                if isinstance(body, (dict, list)):
                    data = json.dumps(body, separators=(",", ":")).encode()
                elif isinstance(body, str):
                    data = body.encode()
                elif body is None:
                    data = b""
                else:
                    data = body
                self.send_response(status)
                if data and ctype:
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
                _local.sid = self.headers.get("X-Traceability-Id") or ""
                query = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
                with server_span("%s %s" % (self.command, path), self.headers,
                                 {"http.method": self.command, "http.target": self.path,
                                  "http.scheme": "https", "net.host.port": app.port,
                                  "lo2.lab.correlation_id": _local.cid}) as span:
                    status, body, headers, ctype, tmpl = app._dispatch(self, path, query)
                    span.update_name("%s %s" % (self.command, tmpl))
                    span.set_attribute("http.route", tmpl)
                    span.set_attribute("http.status_code", status)
                    if status >= 500:
                        span.set_error("HTTP %d" % status)
                    cid = _local.cid
                    headers = dict(headers, **{"X-Correlation-Id": cid})
                    try:
                        self._send(status, body, headers, ctype)
                    except (ConnectionError, ssl.SSLError):  # the client went away: still audited
                        self.close_connection = True
                dt = time.time() - t0
                _observe(tmpl, self.command, status, dt)
                log("INFO", "c.n.a.AuditHandler", json.dumps({
                    "timestamp": int(t0 * 1000), "serviceId": app.service,
                    "X-Correlation-Id": cid, "endpoint": "%s@%s" % (tmpl, self.command.lower()),
                    "statusCode": status, "responseTime": int(dt * 1000)}, separators=(",", ":")))
                _local.cid = ""
                _local.sid = ""
                _local.thread = "main"

            def do_GET(self):
                self._handle()

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # a client resetting its connection or failing the handshake (Locust stopping, a
                # probe) is not an error; anything else is one line, not a traceback on stderr
                e = sys.exc_info()[1]
                if isinstance(e, (ConnectionError, TimeoutError, ssl.SSLError, OSError)):
                    return
                log("ERROR", "c.n.s.Server", "request from %s failed: %s: %s"
                    % (client_address[0], type(e).__name__, e), "handleError")

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(TLS_DIR, "server.crt"), os.path.join(TLS_DIR, "server.key"))
        server = Server(("0.0.0.0", self.port), Handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        log("INFO", "c.n.s.Server", "%s is starting, https listener on 0.0.0.0:%d" % (self.service, self.port), "start")
        _init_tracing()
        threading.Thread(target=self.pool.wait_ready, daemon=True).start()

        def stop(sig, frame):
            log("INFO", "c.n.s.Server", "%s is stopping (signal %d)" % (self.service, sig), "shutdown")
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server.serve_forever()
        flush_tracing()  # the spans still batched go out before the process ends
        log("INFO", "c.n.s.Server", "%s is stopped" % self.service, "shutdown")
