"""oauth2-client (port 6884): light-oauth2's client service - register, get, page, update, delete
OAuth2 clients. Endpoints:
  POST   /oauth2/client               register (JSON body); returns the client with its secret
  GET    /oauth2/client?page=&pageSize=[&clientName=]   one page of clients
  GET    /oauth2/client/{clientId}    one client
  PUT    /oauth2/client               update (JSON body with clientId)
  DELETE /oauth2/client/{clientId}    delete
"""
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


def validate(body, update=False):
    ct, cp = body.get("clientType"), body.get("clientProfile")
    if ct not in TYPES:
        raise ApiError("ERR11004", "clientType: does not have a value in the enumeration %s" % TYPES,
                       cause="clientType = %s" % ct)
    if cp not in PROFILES:
        raise ApiError("ERR11004", "clientProfile: does not have a value in the enumeration %s" % PROFILES,
                       cause="clientProfile = %s" % cp)
    for f in ("clientName", "ownerId"):
        if not isinstance(body.get(f), str) or not body.get(f) or len(body[f]) > 32:
            raise ApiError("ERR11004", "%s: is missing but it is required" % f, cause="%s = %s" % (f, body.get(f)))


def owner_exists(db, owner_id):
    if not db.one("SELECT user_id FROM user_profile WHERE user_id = %s", (owner_id,)):
        raise ApiError("ERR12013", owner_id, cause="ownerId = %s" % owner_id)


def register(req, db):
    body = req.json()
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
        raise ApiError("ERR12013", body["ownerId"], cause="ownerId = %s" % body["ownerId"])
    log("INFO", H + "Oauth2ClientPostHandler", "client registered clientId = %s ownerId = %s" % (client_id, body["ownerId"]))
    row = db.one("SELECT %s FROM client WHERE client_id = %%s" % COLUMNS, (client_id,))
    out = to_json(row)
    out["clientSecret"] = secret
    return out


def get_page(req, db):
    page, size = page_args(req)
    name = req.query.get("clientName")
    if name:
        rows = db.query("SELECT %s FROM client WHERE client_name LIKE %%s ORDER BY client_id LIMIT %%s OFFSET %%s"
                        % COLUMNS, ("%" + name + "%", size, page * size))
    else:
        rows = db.query("SELECT %s FROM client ORDER BY client_id LIMIT %%s OFFSET %%s" % COLUMNS,
                        (size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    cid = req.params["clientId"]
    row = db.one("SELECT %s FROM client WHERE client_id = %%s" % COLUMNS, (cid,))
    if not row:
        raise ApiError("ERR12014", cid, cause="clientId = %s" % cid)
    return to_json(row)


def update(req, db):
    body = req.json()
    cid = body.get("clientId")
    if not db.one("SELECT client_id FROM client WHERE client_id = %s", (cid,)):
        raise ApiError("ERR12014", cid, cause="clientId = %s" % cid)
    validate(body, update=True)
    owner_exists(db, body["ownerId"])
    db.execute(
        "UPDATE client SET client_type = %s, client_profile = %s, client_name = %s, client_desc = %s, "
        "scope = %s, custom_claim = %s, redirect_uri = %s, owner_id = %s WHERE client_id = %s",
        (body["clientType"], body["clientProfile"], body["clientName"], body.get("clientDesc"),
         body.get("scope"), body.get("customClaim"), body.get("redirectUri"), body["ownerId"], cid))
    return get_one(type("R", (), {"params": {"clientId": cid}})(), db)


def delete(req, db):
    cid = req.params["clientId"]
    if db.execute("DELETE FROM client WHERE client_id = %s", (cid,)) == 0:
        raise ApiError("ERR12014", cid, cause="clientId = %s" % cid)
    log("INFO", H + "Oauth2ClientClientIdDeleteHandler", "client deleted clientId = %s" % cid)
    return {"clientId": cid}


if __name__ == "__main__":
    App("oauth2-client", int(os.environ.get("PORT", "6884")), [
        ("POST", "/oauth2/client", H + "Oauth2ClientPostHandler", register),
        ("GET", "/oauth2/client", H + "Oauth2ClientGetHandler", get_page),
        ("GET", "/oauth2/client/{clientId}", H + "Oauth2ClientClientIdGetHandler", get_one),
        ("PUT", "/oauth2/client", H + "Oauth2ClientPutHandler", update),
        ("DELETE", "/oauth2/client/{clientId}", H + "Oauth2ClientClientIdDeleteHandler", delete),
    ]).serve()
