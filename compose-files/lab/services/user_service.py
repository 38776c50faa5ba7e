"""oauth2-user (port 6885): light-oauth2's user service - register, get, page, update, delete
users and change passwords. Endpoints (doc.networknt.com, light-oauth2 user):
  POST   /oauth2/user                 register (JSON or form: userId, userType, firstName, lastName,
                                      email, password, passwordConfirm, roles)
  GET    /oauth2/user?page=&pageSize=[&userId=]   one page of users (page from 1)
  GET    /oauth2/user/{userId}        one user (never the password)
  PUT    /oauth2/user                 update names, email, roles, userType
  DELETE /oauth2/user/{userId}        delete (its clients and services go with it)
  POST   /oauth2/password/{userId}    change the password (password, newPassword, newPasswordConfirm)
"""
import os

import pymysql

from lab import ApiError, App, check_password, hash_password, log, page_args

TYPES = ["admin", "customer", "employee", "partner"]
COLUMNS = "user_id, user_type, first_name, last_name, email, roles, update_ts"
H = "c.n.o.u.h."


def to_json(r):
    return {"userId": r["user_id"], "userType": r["user_type"], "firstName": r["first_name"],
            "lastName": r["last_name"], "email": r["email"], "roles": r["roles"],
            "updateTs": r["update_ts"].isoformat() if r.get("update_ts") else None}


def validate(body):
    for f in ("userId", "firstName", "lastName", "email"):
        v = body.get(f)
        if not isinstance(v, str) or not v or len(v) > (64 if f == "email" else 32):
            raise ApiError("ERR11004", "%s: is missing but it is required" % f)
    if body.get("userType") not in TYPES:
        raise ApiError("ERR11004", "userType: does not have a value in the enumeration %s" % TYPES)


def find(db, uid, full=False):
    return db.one("SELECT %s FROM user_profile WHERE user_id = %%s" % (COLUMNS + (", password" if full else "")), (uid,))


def register(req, db):
    body = req.body()
    uid, email = body.get("userId"), body.get("email")
    pw, confirm = body.get("password"), body.get("passwordConfirm")
    if not pw or not confirm:
        raise ApiError("ERR12011", pw, confirm)
    if pw != confirm:
        raise ApiError("ERR12012", pw, confirm)
    validate(body)
    if find(db, uid):
        raise ApiError("ERR12020", uid)
    if db.one("SELECT user_id FROM user_profile WHERE email = %s", (email,)):
        raise ApiError("ERR12021", email)
    try:
        db.execute("INSERT INTO user_profile (user_id, user_type, first_name, last_name, email, password, roles) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (uid, body["userType"], body["firstName"], body["lastName"], email, hash_password(pw),
                    body.get("roles") or "user"))
    except pymysql.err.IntegrityError:  # registered by someone else in between
        raise ApiError("ERR12020", uid)
    log("INFO", H + "Oauth2UserPostHandler", "user registered userId = %s" % uid)
    return to_json(find(db, uid))


def get_page(req, db):
    page, size = page_args(req)
    prefix = req.query.get("userId") or ""
    rows = db.query("SELECT %s FROM user_profile WHERE user_id LIKE %%s ORDER BY user_id LIMIT %%s OFFSET %%s" % COLUMNS,
                    (prefix + "%", size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    uid = req.params["userId"]
    r = find(db, uid)
    if not r:
        raise ApiError("ERR12013", uid)
    return to_json(r)


def update(req, db):
    body = req.body()
    uid = body.get("userId") or ""
    if not find(db, uid):
        raise ApiError("ERR12013", uid)
    validate(body)
    db.execute("UPDATE user_profile SET user_type = %s, first_name = %s, last_name = %s, email = %s, roles = %s "
               "WHERE user_id = %s",
               (body["userType"], body["firstName"], body["lastName"], body["email"], body.get("roles"), uid))
    log("INFO", H + "Oauth2UserPutHandler", "user updated userId = %s" % uid)
    return to_json(find(db, uid))


def delete(req, db):
    uid = req.params["userId"]
    if db.execute("DELETE FROM user_profile WHERE user_id = %s", (uid,)) == 0:
        raise ApiError("ERR12013", uid)
    log("INFO", H + "Oauth2UserUserIdDeleteHandler", "user deleted userId = %s" % uid)
    return {"userId": uid}


def password(req, db):
    uid = req.params["userId"]
    body = req.body()
    r = find(db, uid, full=True)
    if not r:
        raise ApiError("ERR12013", uid)
    if not check_password(str(body.get("password") or ""), r["password"]):
        raise ApiError("ERR12016")
    new, confirm = body.get("newPassword"), body.get("newPasswordConfirm")
    if not new or not confirm:
        raise ApiError("ERR12011", new, confirm)
    if new != confirm:
        raise ApiError("ERR12012", new, confirm)
    db.execute("UPDATE user_profile SET password = %s WHERE user_id = %s", (hash_password(new), uid))
    log("INFO", H + "Oauth2PasswordUserIdPostHandler", "password changed userId = %s" % uid)
    return {"userId": uid}


if __name__ == "__main__":
    App("oauth2-user", int(os.environ.get("PORT", "6885")), [
        ("POST", "/oauth2/user", H + "Oauth2UserPostHandler", register),
        ("GET", "/oauth2/user", H + "Oauth2UserGetHandler", get_page),
        ("GET", "/oauth2/user/{userId}", H + "Oauth2UserUserIdGetHandler", get_one),
        ("PUT", "/oauth2/user", H + "Oauth2UserPutHandler", update),
        ("DELETE", "/oauth2/user/{userId}", H + "Oauth2UserUserIdDeleteHandler", delete),
        ("POST", "/oauth2/password/{userId}", H + "Oauth2PasswordUserIdPostHandler", password),
    ]).serve()
