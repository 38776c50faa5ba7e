"""oauth2-client (port 6884): light-oauth2's client service - register, get, page, update, delete
OAuth2 clients and link them to services. Endpoints (doc.networknt.com, light-oauth2 client):
  POST   /oauth2/client               register (JSON or form body); answers the client with its secret
  GET    /oauth2/client?page=&pageSize=[&clientName=]   one page of clients (page from 1)
  GET    /oauth2/client/{clientId}    one client
  PUT    /oauth2/client               update (body with clientId)
  DELETE /oauth2/client/{clientId}    delete
  GET    /oauth2/client/{clientId}/service                  the services linked to the client
  POST   /oauth2/client/{clientId}/service/{serviceId}      link (body: a list of endpoints)
  DELETE /oauth2/client/{clientId}/service/{serviceId}      unlink
"""
import json
import os
import uuid

import pymysql

from lab import ApiError, App, hash_password, log, new_id, page_args

TYPES = ["public", "confidential", "trusted", "external"]
PROFILES = ["webserver", "mobile", "browser", "service", "batch"]
COLUMNS = ("client_id, client_type, client_profile, client_name, client_desc, scope, custom_claim, "
           "redirect_uri, authenticate_class, deref_client_id, owner_id, host, update_ts")
H = "c.n.o.c.h."


def to_json(row):
    return {
        "clientId": row["client_id"], "clientType": row["client_type"],
        "clientProfile": row["client_profile"], "clientName": row["client_name"],
        "clientDesc": row["client_desc"], "scope": row["scope"], "customClaim": row["custom_claim"],
        "redirectUri": row["redirect_uri"], "authenticateClass": row["authenticate_class"],
        "derefClientId": row["deref_client_id"], "ownerId": row["owner_id"], "host": row["host"],
        "updateTs": row["update_ts"].isoformat() if row.get("update_ts") else None,
    }


def validate(body):
    """The OpenAPI schema of a client: enumerations and required strings (ERR11004)."""
    ct, cp = body.get("clientType"), body.get("clientProfile")
    if ct not in TYPES:
        raise ApiError("ERR11004", "clientType: does not have a value in the enumeration %s" % TYPES)
    if cp not in PROFILES:
        raise ApiError("ERR11004", "clientProfile: does not have a value in the enumeration %s" % PROFILES)
    for f in ("clientName", "ownerId"):
        if not isinstance(body.get(f), str) or not body.get(f) or len(body[f]) > 32:
            raise ApiError("ERR11004", "%s: is missing but it is required" % f)


def owner_exists(db, owner_id):
    if not db.one("SELECT user_id FROM user_profile WHERE user_id = %s", (owner_id,)):
        raise ApiError("ERR12013", owner_id)


def find(db, cid):
    return db.one("SELECT %s FROM client WHERE client_id = %%s" % COLUMNS, (cid,))


def register(req, db):
    body = req.body()
    validate(body)
    owner_exists(db, body["ownerId"])
    client_id = str(uuid.uuid4())
    secret = new_id()
    try:
        db.execute(
            "INSERT INTO client (client_id, client_type, client_profile, client_secret, client_name, client_desc, "
            "scope, custom_claim, redirect_uri, authenticate_class, deref_client_id, owner_id, host) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (client_id, body["clientType"], body["clientProfile"], hash_password(secret), body["clientName"],
             body.get("clientDesc"), body.get("scope"), body.get("customClaim"), body.get("redirectUri"),
             body.get("authenticateClass"), body.get("derefClientId"), body["ownerId"],
             body.get("host") or "lightapi.net"))
    except pymysql.err.IntegrityError:  # the owner was deleted in between
        raise ApiError("ERR12013", body["ownerId"])
    log("INFO", H + "Oauth2ClientPostHandler", "client registered clientId = %s ownerId = %s" % (client_id, body["ownerId"]))
    out = to_json(find(db, client_id))
    out["clientSecret"] = secret
    return out


def get_page(req, db):
    page, size = page_args(req)
    name = req.query.get("clientName")
    if name:
        rows = db.query("SELECT %s FROM client WHERE client_name LIKE %%s ORDER BY client_id LIMIT %%s OFFSET %%s"
                        % COLUMNS, (name + "%", size, page * size))
    else:
        rows = db.query("SELECT %s FROM client ORDER BY client_id LIMIT %%s OFFSET %%s" % COLUMNS,
                        (size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    cid = req.params["clientId"]
    row = find(db, cid)
    if not row:
        raise ApiError("ERR12014", cid)
    return to_json(row)


def update(req, db):
    body = req.body()
    validate(body)  # the schema first (clientId is not required by it), as light-oauth2's validator
    cid = body.get("clientId") or ""
    if not find(db, cid):
        raise ApiError("ERR12014", cid)
    owner_exists(db, body["ownerId"])
    db.execute(
        "UPDATE client SET client_type = %s, client_profile = %s, client_name = %s, client_desc = %s, "
        "scope = %s, custom_claim = %s, redirect_uri = %s, owner_id = %s WHERE client_id = %s",
        (body["clientType"], body["clientProfile"], body["clientName"], body.get("clientDesc"),
         body.get("scope"), body.get("customClaim"), body.get("redirectUri"), body["ownerId"], cid))
    log("INFO", H + "Oauth2ClientPutHandler", "client updated clientId = %s" % cid)
    return to_json(find(db, cid))


def delete(req, db):
    cid = req.params["clientId"]
    if db.execute("DELETE FROM client WHERE client_id = %s", (cid,)) == 0:
        raise ApiError("ERR12014", cid)
    log("INFO", H + "Oauth2ClientClientIdDeleteHandler", "client deleted clientId = %s" % cid)
    return {"clientId": cid}


def services_of(req, db):
    cid = req.params["clientId"]
    if not find(db, cid):
        raise ApiError("ERR12014", cid)
    out = {}
    for r in db.query("SELECT service_id, endpoint FROM client_service WHERE client_id = %s ORDER BY service_id, endpoint",
                      (cid,)):
        out.setdefault(r["service_id"], []).append(r["endpoint"])
    return out


def link(req, db):
    cid, sid = req.params["clientId"], req.params["serviceId"]
    if not find(db, cid):
        raise ApiError("ERR12014", cid)
    if not db.one("SELECT service_id FROM service WHERE service_id = %s", (sid,)):
        raise ApiError("ERR12015", sid)
    try:
        endpoints = json.loads(req.raw or b"[]")
    except ValueError as e:
        raise ApiError("ERR11003", str(e))
    if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
        raise ApiError("ERR11004", "$: an array of endpoints is expected")
    known = {r["endpoint"] for r in db.query("SELECT endpoint FROM service_endpoint WHERE service_id = %s", (sid,))}
    db.execute("DELETE FROM client_service WHERE client_id = %s AND service_id = %s", (cid, sid))
    for e in endpoints:
        if e in known:
            db.execute("INSERT INTO client_service (client_id, service_id, endpoint) VALUES (%s, %s, %s)", (cid, sid, e))
    log("INFO", H + "Oauth2ClientClientIdServiceServiceIdPostHandler", "client %s linked to service %s" % (cid, sid))
    return {"clientId": cid, "serviceId": sid}


def unlink(req, db):
    cid, sid = req.params["clientId"], req.params["serviceId"]
    if not find(db, cid):
        raise ApiError("ERR12014", cid)
    db.execute("DELETE FROM client_service WHERE client_id = %s AND service_id = %s", (cid, sid))
    return {"clientId": cid, "serviceId": sid}


if __name__ == "__main__":
    App("oauth2-client", int(os.environ.get("PORT", "6884")), [
        ("POST", "/oauth2/client", H + "Oauth2ClientPostHandler", register),
        ("GET", "/oauth2/client", H + "Oauth2ClientGetHandler", get_page),
        ("GET", "/oauth2/client/{clientId}", H + "Oauth2ClientClientIdGetHandler", get_one),
        ("PUT", "/oauth2/client", H + "Oauth2ClientPutHandler", update),
        ("DELETE", "/oauth2/client/{clientId}", H + "Oauth2ClientClientIdDeleteHandler", delete),
        ("GET", "/oauth2/client/{clientId}/service", H + "Oauth2ClientClientIdServiceGetHandler", services_of),
        ("POST", "/oauth2/client/{clientId}/service/{serviceId}", H + "Oauth2ClientClientIdServiceServiceIdPostHandler", link),
        ("DELETE", "/oauth2/client/{clientId}/service/{serviceId}", H + "Oauth2ClientClientIdServiceServiceIdDeleteHandler",
         unlink),
    ]).serve()
