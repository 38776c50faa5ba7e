"""oauth2-service (port 6883): light-oauth2's service service - register, get, page, update,
delete the API services clients are authorised for, and their endpoints. Endpoints
(doc.networknt.com, light-oauth2 service):
  POST   /oauth2/service              register (JSON or form: serviceId, serviceType, serviceName,
                                      serviceDesc, scope, ownerId, host)
  GET    /oauth2/service?page=&pageSize=[&serviceId=]   one page of services (page from 1)
  GET    /oauth2/service/{serviceId}  one service
  PUT    /oauth2/service              update (body with serviceId)
  DELETE /oauth2/service/{serviceId}  delete
  GET    /oauth2/service/{serviceId}/endpoint    the service's endpoints
  POST   /oauth2/service/{serviceId}/endpoint    replace them (a list of {endpoint, operation, scope})
  DELETE /oauth2/service/{serviceId}/endpoint    delete them
"""
import json
import os

import pymysql

from lab import ApiError, App, log, page_args

TYPES = ["swagger", "openapi", "graphql", "hybrid"]
COLUMNS = "service_id, service_type, service_name, service_desc, scope, owner_id, host, update_ts"
H = "c.n.o.s.h."


def to_json(r):
    return {"serviceId": r["service_id"], "serviceType": r["service_type"], "serviceName": r["service_name"],
            "serviceDesc": r["service_desc"], "scope": r["scope"], "ownerId": r["owner_id"], "host": r["host"],
            "updateTs": r["update_ts"].isoformat() if r.get("update_ts") else None}


def validate(body):
    if body.get("serviceType") not in TYPES:
        raise ApiError("ERR11004", "serviceType: does not have a value in the enumeration %s" % TYPES)
    for f in ("serviceId", "serviceName", "ownerId"):
        if not isinstance(body.get(f), str) or not body.get(f) or len(body[f]) > 32:
            raise ApiError("ERR11004", "%s: is missing but it is required" % f)


def owner_exists(db, owner):
    if not db.one("SELECT user_id FROM user_profile WHERE user_id = %s", (owner,)):
        raise ApiError("ERR12013", owner)


def find(db, sid):
    return db.one("SELECT %s FROM service WHERE service_id = %%s" % COLUMNS, (sid,))


def register(req, db):
    body = req.body()
    validate(body)
    sid = body["serviceId"]
    owner_exists(db, body["ownerId"])
    if find(db, sid):
        raise ApiError("ERR12018", sid)
    try:
        db.execute("INSERT INTO service (service_id, service_type, service_name, service_desc, scope, owner_id, host) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (sid, body["serviceType"], body["serviceName"], body.get("serviceDesc"), body.get("scope"),
                    body["ownerId"], body.get("host") or "lightapi.net"))
    except pymysql.err.IntegrityError:
        raise ApiError("ERR12018", sid)
    log("INFO", H + "Oauth2ServicePostHandler", "service registered serviceId = %s" % sid)
    return to_json(find(db, sid))


def get_page(req, db):
    page, size = page_args(req)
    prefix = req.query.get("serviceId") or ""
    rows = db.query("SELECT %s FROM service WHERE service_id LIKE %%s ORDER BY service_id LIMIT %%s OFFSET %%s" % COLUMNS,
                    (prefix + "%", size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    sid = req.params["serviceId"]
    r = find(db, sid)
    if not r:
        raise ApiError("ERR12015", sid)
    return to_json(r)


def update(req, db):
    body = req.body()
    sid = body.get("serviceId") or ""
    if not find(db, sid):
        raise ApiError("ERR12015", sid)
    validate(body)
    owner_exists(db, body["ownerId"])
    db.execute("UPDATE service SET service_type = %s, service_name = %s, service_desc = %s, scope = %s, owner_id = %s "
               "WHERE service_id = %s",
               (body["serviceType"], body["serviceName"], body.get("serviceDesc"), body.get("scope"),
                body["ownerId"], sid))
    log("INFO", H + "Oauth2ServicePutHandler", "service updated serviceId = %s" % sid)
    return to_json(find(db, sid))


def delete(req, db):
    sid = req.params["serviceId"]
    if db.execute("DELETE FROM service WHERE service_id = %s", (sid,)) == 0:
        raise ApiError("ERR12015", sid)
    log("INFO", H + "Oauth2ServiceServiceIdDeleteHandler", "service deleted serviceId = %s" % sid)
    return {"serviceId": sid}


def endpoints(req, db):
    sid = req.params["serviceId"]
    if not find(db, sid):
        raise ApiError("ERR12015", sid)
    return [{"endpoint": r["endpoint"], "operation": r["operation"], "scope": r["scope"]}
            for r in db.query("SELECT endpoint, operation, scope FROM service_endpoint WHERE service_id = %s "
                              "ORDER BY endpoint", (sid,))]


def set_endpoints(req, db):
    sid = req.params["serviceId"]
    if not find(db, sid):
        raise ApiError("ERR12015", sid)
    try:
        items = json.loads(req.raw or b"null")
    except ValueError as e:
        raise ApiError("ERR11003", str(e))
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("endpoint") for i in items):
        raise ApiError("ERR11004", "$: an array of {endpoint, operation, scope} is expected")
    db.execute("DELETE FROM service_endpoint WHERE service_id = %s", (sid,))
    for i in items:
        db.execute("INSERT INTO service_endpoint (service_id, endpoint, operation, scope) VALUES (%s, %s, %s, %s)",
                   (sid, i["endpoint"], i.get("operation") or "", i.get("scope") or ""))
    log("INFO", H + "Oauth2ServiceServiceIdEndpointPostHandler", "%d endpoints set serviceId = %s" % (len(items), sid))
    return {"serviceId": sid, "endpoints": len(items)}


def delete_endpoints(req, db):
    sid = req.params["serviceId"]
    if not find(db, sid):
        raise ApiError("ERR12015", sid)
    db.execute("DELETE FROM service_endpoint WHERE service_id = %s", (sid,))
    return {"serviceId": sid}


if __name__ == "__main__":
    App("oauth2-service", int(os.environ.get("PORT", "6883")), [
        ("POST", "/oauth2/service", H + "Oauth2ServicePostHandler", register),
        ("GET", "/oauth2/service", H + "Oauth2ServiceGetHandler", get_page),
        ("GET", "/oauth2/service/{serviceId}", H + "Oauth2ServiceServiceIdGetHandler", get_one),
        ("PUT", "/oauth2/service", H + "Oauth2ServicePutHandler", update),
        ("DELETE", "/oauth2/service/{serviceId}", H + "Oauth2ServiceServiceIdDeleteHandler", delete),
        ("GET", "/oauth2/service/{serviceId}/endpoint", H + "Oauth2ServiceServiceIdEndpointGetHandler", endpoints),
        ("POST", "/oauth2/service/{serviceId}/endpoint", H + "Oauth2ServiceServiceIdEndpointPostHandler", set_endpoints),
        ("DELETE", "/oauth2/service/{serviceId}/endpoint", H + "Oauth2ServiceServiceIdEndpointDeleteHandler",
         delete_endpoints),
    ]).serve()
