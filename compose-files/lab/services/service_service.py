"""oauth2-service (port 6883): light-oauth2's service registry - register, get, page, update,
delete API services. Endpoints:
  POST   /oauth2/service              register (JSON: serviceId, serviceType, serviceName,
                                      serviceDesc, scope, ownerId)
  GET    /oauth2/service?page=&pageSize=   one page of services
  GET    /oauth2/service/{serviceId}  one service
  PUT    /oauth2/service              update (JSON with serviceId)
  DELETE /oauth2/service/{serviceId}  delete
"""
import os

import pymysql

from lab import ApiError, App, log, page_args

TYPES = ["swagger", "openapi", "graphql", "hybrid", "ms"]
COLUMNS = "service_id, service_type, service_name, service_desc, scope, owner_id, host, update_ts"
H = "c.n.o.s.h."


def to_json(r):
    return {"serviceId": r["service_id"], "serviceType": r["service_type"], "serviceName": r["service_name"],
            "serviceDesc": r["service_desc"], "scope": r["scope"], "ownerId": r["owner_id"], "host": r["host"],
            "updateTs": r["update_ts"].isoformat() if r.get("update_ts") else None}


def validate(body):
    sid = body.get("serviceId")
    if not isinstance(sid, str) or not sid or len(sid) > 32:
        raise ApiError("ERR11004", "serviceId: is missing but it is required", cause="serviceId = %s" % sid)
    if body.get("serviceType") not in TYPES:
        raise ApiError("ERR11004", "serviceType: does not have a value in the enumeration %s" % TYPES,
                       cause="serviceType = %s" % body.get("serviceType"))
    for f in ("serviceName", "ownerId"):
        if not isinstance(body.get(f), str) or not body.get(f) or len(body[f]) > 32:
            raise ApiError("ERR11004", "%s: is missing but it is required" % f, cause="%s = %s" % (f, body.get(f)))


def owner_exists(db, owner):
    if not db.one("SELECT user_id FROM user_profile WHERE user_id = %s", (owner,)):
        raise ApiError("ERR12013", owner, cause="ownerId = %s" % owner)


def find(db, sid):
    return db.one("SELECT %s FROM service WHERE service_id = %%s" % COLUMNS, (sid,))


def register(req, db):
    body = req.json()
    validate(body)
    owner_exists(db, body["ownerId"])
    sid = body["serviceId"]
    if find(db, sid):
        raise ApiError("ERR12019", sid, cause="serviceId = %s" % sid)
    try:
        db.execute("INSERT INTO service (service_id, service_type, service_name, service_desc, scope, owner_id, host) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (sid, body["serviceType"], body["serviceName"], body.get("serviceDesc"), body.get("scope"),
                    body["ownerId"], body.get("host") or "lightapi.net"))
    except pymysql.err.IntegrityError as e:
        raise ApiError("ERR12019", sid, cause="serviceId = %s (%s)" % (sid, e.args[-1]))
    log("INFO", H + "Oauth2ServicePostHandler", "service registered serviceId = %s" % sid)
    return to_json(find(db, sid))


def get_page(req, db):
    page, size = page_args(req)
    rows = db.query("SELECT %s FROM service ORDER BY service_id LIMIT %%s OFFSET %%s" % COLUMNS, (size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    sid = req.params["serviceId"]
    r = find(db, sid)
    if not r:
        raise ApiError("ERR12015", sid, cause="serviceId = %s" % sid)
    return to_json(r)


def update(req, db):
    body = req.json()
    sid = body.get("serviceId")
    if not find(db, sid):
        raise ApiError("ERR12015", sid, cause="serviceId = %s" % sid)
    validate(body)
    owner_exists(db, body["ownerId"])
    db.execute("UPDATE service SET service_type = %s, service_name = %s, service_desc = %s, scope = %s, owner_id = %s "
               "WHERE service_id = %s",
               (body["serviceType"], body["serviceName"], body.get("serviceDesc"), body.get("scope"),
                body["ownerId"], sid))
    return to_json(find(db, sid))


def delete(req, db):
    sid = req.params["serviceId"]
    if db.execute("DELETE FROM service WHERE service_id = %s", (sid,)) == 0:
        raise ApiError("ERR12015", sid, cause="serviceId = %s" % sid)
    log("INFO", H + "Oauth2ServiceServiceIdDeleteHandler", "service deleted serviceId = %s" % sid)
    return {"serviceId": sid}


if __name__ == "__main__":
    App("oauth2-service", int(os.environ.get("PORT", "6883")), [
        ("POST", "/oauth2/service", H + "Oauth2ServicePostHandler", register),
        ("GET", "/oauth2/service", H + "Oauth2ServiceGetHandler", get_page),
        ("GET", "/oauth2/service/{serviceId}", H + "Oauth2ServiceServiceIdGetHandler", get_one),
        ("PUT", "/oauth2/service", H + "Oauth2ServicePutHandler", update),
        ("DELETE", "/oauth2/service/{serviceId}", H + "Oauth2ServiceServiceIdDeleteHandler", delete),
    ]).serve()
