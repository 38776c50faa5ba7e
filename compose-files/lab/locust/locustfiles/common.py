"""Helpers of the lab locustfiles: service URLs, the seed data, checked requests.

Service URLs come from the Locust host (-H), as LO2's locustfiles reach https://localhost:688x:
a loopback or IP host means the services' published ports on that address
(https://localhost:6882 -> https://localhost:6884 for oauth2-client); any other name means Locust
runs on the compose network, where every service answers on its own name
(-H https://oauth2-token:6882 -> https://oauth2-client:6884). The certificate is the lab's
self-signed one: requests are not verified, and urllib3's warning about it is silenced.

A correct task's request is a Locust success when it gets the status it expects. An error task's
request is always a Locust failure, as in LO2's locustfiles: "<code> <status> as expected" when
the service answered the light-4j error it is meant to provoke, "UNEXPECTED ..." otherwise - so
a run's failures name every error the tag produced.

Every request carries a W3C traceparent; the requests of one task run share its trace id, so the
services' spans of a flow (a code, then its token) form one trace.
"""
import base64
import hashlib
import ipaddress
import os
import urllib.parse
import uuid

import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

PORTS = {"code": 6881, "token": 6882, "service": 6883, "client": 6884, "user": 6885, "key": 6886,
         "refresh-token": 6887}

# seed rows of mysql/create_mysql.sql
ADMIN, ADMIN_PASSWORD, ADMIN_EMAIL = "admin", "123456", "admin@networknt.com"
CLIENT_ID, CLIENT_SECRET = "f7d42348-c647-4efb-a52d-4c5787421e72", "f6h1FTI8Q3-7UScPZDzfXA"
REDIRECT_URI = "http://localhost:8080/authorization"
SERVICE_ID = "AACT0001"


def _base(host, svc):
    u = urllib.parse.urlsplit(host or "https://localhost")
    name = u.hostname or "localhost"
    try:
        ipaddress.ip_address(name)
        local = True
    except ValueError:
        local = name == "localhost"
    if not local:
        name = "oauth2-" + svc
    elif ":" in name:
        name = "[%s]" % name
    return "%s://%s:%d" % (u.scheme or "https", name, PORTS[svc])


def url(user, svc, path):
    return _base(user.host, svc) + path


def uid(prefix="u"):
    return prefix + uuid.uuid4().hex[:20]


def basic(a, b):
    return "Basic " + base64.b64encode(("%s:%s" % (a, b)).encode()).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pkce_pair():
    """(verifier, S256 challenge) as RFC 7636: 43 characters each."""
    verifier = b64url(os.urandom(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def json_of(r):
    try:
        return r.json()
    except ValueError:
        return {}


def new_trace(user):
    """The requests of one task run share a W3C trace: the services' spans join it."""
    user.lo2_trace = os.urandom(16).hex()


def traceparent(user):
    """A traceparent header for one request of the task's trace (a span id of its own)."""
    trace = getattr(user, "lo2_trace", None) or os.urandom(16).hex()
    return "00-%s-%s-01" % (trace, os.urandom(8).hex())


def call(user, method, svc, path, expect, name, code=None, **kw):
    """One request. expect: the status; code: the light-4j error code an error task provokes
    ("" for undertow's empty 401 challenge). Returns the response."""
    kw.setdefault("allow_redirects", False)
    kw.setdefault("verify", False)
    kw["headers"] = dict(kw.get("headers") or {})
    kw["headers"].setdefault("traceparent", traceparent(user))
    with user.client.request(method, url(user, svc, path), name=name, catch_response=True, **kw) as r:
        got = json_of(r).get("code", "") if r.status_code >= 400 else ""
        if code is None:
            if r.status_code == expect:
                r.success()
            else:
                r.failure("UNEXPECTED: expected %d, got %d %s" % (expect, r.status_code, got))
        elif r.status_code == expect and got == code:
            r.failure("%s %d as expected" % (code or "challenge", expect))
        else:
            r.failure("UNEXPECTED: expected %s %d, got %s %d" % (code or "challenge", expect, got, r.status_code))
    return r
