"""Helpers of the lab locustfiles: service URLs, the seed data, expected-status requests.

Service URLs come from the Locust host (-H): a loopback or IP host means the services' published
ports on that address (http://127.0.0.1 -> http://127.0.0.1:6884 for oauth2-client); any other
name means Locust runs inside the compose network, where every service answers on its own name
(-H http://oauth2-token:6882 -> http://oauth2-client:6884).
"""
import base64
import hashlib
import ipaddress
import os
import urllib.parse
import uuid

PORTS = {"code": 6881, "token": 6882, "service": 6883, "client": 6884, "user": 6885}

# seed rows of mysql/create_mysql.sql
ADMIN, ADMIN_PASSWORD, ADMIN_EMAIL = "admin", "123456", "admin@networknt.com"
CLIENT_ID, CLIENT_SECRET = "f7d42348-c647-4efb-a52d-4c5787421e72", "f6h1FTI8Q3-7UScPZDzfXA"
REDIRECT_URI = "http://localhost:8080/authorization"
SERVICE_ID = "AACT0001"


def _base(host, svc):
    u = urllib.parse.urlsplit(host or "http://127.0.0.1")
    name = u.hostname or "127.0.0.1"
    try:
        ipaddress.ip_address(name)
        local = True
    except ValueError:
        local = name == "localhost"
    if not local:
        name = "oauth2-" + svc
    elif ":" in name:
        name = "[%s]" % name
    return "%s://%s:%d" % (u.scheme or "http", name, PORTS[svc])


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


def call(user, method, svc, path, expect, name, **kw):
    """One request; Locust counts it a success only when the status is the expected one (an
    error task's 4xx is what it is for). Returns the response."""
    kw.setdefault("allow_redirects", False)
    with user.client.request(method, url(user, svc, path), name=name, catch_response=True, **kw) as r:
        if r.status_code == expect:
            r.success()
        else:
            r.failure("expected %d, got %d: %s" % (expect, r.status_code, r.text[:200]))
    return r


def json_of(r):
    try:
        return r.json()
    except ValueError:
        return {}
