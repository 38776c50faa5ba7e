"""oauth2-user (port 6885): light-oauth2's user service - register, get, page, update, delete
users and change passwords. Endpoints:
  POST   /oauth2/user                 register (JSON: userId, userType, firstName, lastName, email,
                                      password, passwordConfirm, roles)
  GET    /oauth2/user?page=&pageSize= one page of users
  GET    /oauth2/user/{userId}        one user (never the password)
  PUT    /oauth2/user                 update names, email, roles, userType
  DELETE /oauth2/user/{userId}        delete (its clients and services go with it)
  POST   /oauth2/password/{userId}    change the password (JSON: password, newPassword,
                                      newPasswordConfirm)
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
            raise ApiError("ERR11004", "%s: is missing but it is required" % f, cause="%s = %s" % (f, v))
    if body.get("userType") not in TYPES:
        raise ApiError("ERR11004", "userType: does not have a value in the enumeration %s" % TYPES,
                       cause="userType = %s" % body.get("userType"))


def find(db, uid, full=False):
    return db.one("SELECT %s FROM user_profile WHERE user_id = %%s" % (COLUMNS + (", password" if full else "")), (uid,))


def register(req, db):
    body = req.json()
    validate(body)
    uid, email = body["userId"], body["email"]
    if find(db, uid):
        raise ApiError("ERR12020", uid, cause="userId = %s" % uid)
    if db.one("SELECT user_id FROM user_profile WHERE email = %s", (email,)):
        raise ApiError("ERR12021", email, cause="email = %s" % email)
    pw = body.get("password")
    if not pw:
        raise ApiError("ERR12023", uid, cause="userId = %s" % uid)
    if pw != body.get("passwordConfirm"):
        raise ApiError("ERR12018", cause="userId = %s" % uid)
    try:
        db.execute("INSERT INTO user_profile (user_id, user_type, first_name, last_name, email, password, roles) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (uid, body["userType"], body["firstName"], body["lastName"], email, hash_password(pw),
                    body.get("roles") or "user"))
    except pymysql.err.IntegrityError as e:  # registered by someone else in between
        raise ApiError("ERR12020", uid, cause="userId = %s (%s)" % (uid, e.args[-1]))
    log("INFO", H + "Oauth2UserPostHandler", "user registered userId = %s" % uid)
    return to_json(find(db, uid))


def get_page(req, db):
    page, size = page_args(req)
    rows = db.query("SELECT %s FROM user_profile ORDER BY user_id LIMIT %%s OFFSET %%s" % COLUMNS, (size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    uid = req.params["userId"]
    r = find(db, uid)
    if not r:
        raise ApiError("ERR12013", uid, cause="userId = %s" % uid)
    return to_json(r)


def update(req, db):
    body = req.json()
    uid = body.get("userId")
    if not find(db, uid):
        raise ApiError("ERR12013", uid, cause="userId = %s" % uid)
    validate(body)
    db.execute("UPDATE user_profile SET user_type = %s, first_name = %s, last_name = %s, email = %s, roles = %s "
               "WHERE user_id = %s",
               (body["userType"], body["firstName"], body["lastName"], body["email"], body.get("roles"), uid))
    return to_json(find(db, uid))


def delete(req, db):
    uid = req.params["userId"]
    if db.execute("DELETE FROM user_profile WHERE user_id = %s", (uid,)) == 0:
        raise ApiError("ERR12013", uid, cause="userId = %s" % uid)
    log("INFO", H + "Oauth2UserUserIdDeleteHandler", "user deleted userId = %s" % uid)
    return {"userId": uid}


def password(req, db):
    uid = req.params["userId"]
    body = req.json()
    r = find(db, uid, full=True)
    if not r:
        raise ApiError("ERR12013", uid, cause="userId = %s" % uid)
    if not check_password(str(body.get("password") or ""), r["password"]):
        raise ApiError("ERR12016", cause="userId = %s" % uid)
    new = body.get("newPassword")
    if not new or new != body.get("newPasswordConfirm"):
        raise ApiError("ERR12018", cause="userId = %s" % uid)
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
