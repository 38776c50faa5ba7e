"""oauth2-refresh-token (port 6887): light-oauth2's refresh token service - lists, reads and
revokes the refresh tokens oauth2-token issued (authorization_code, password and refresh_token
grants). Endpoints (doc.networknt.com, light-oauth2 refresh-token):
  GET    /oauth2/refresh_token?page=&pageSize=[&userId=]   one page (page from 1)
  GET    /oauth2/refresh_token/{refreshToken}              one refresh token
  DELETE /oauth2/refresh_token/{refreshToken}              revoke it
"""
import os

from lab import ApiError, App, log, page_args

H = "c.n.o.t.h."
COLUMNS = "refresh_token, user_id, user_type, client_id, scope"


def to_json(r):
    return {"refreshToken": r["refresh_token"], "userId": r["user_id"], "userType": r["user_type"],
            "clientId": r["client_id"], "scope": r["scope"]}


def get_page(req, db):
    page, size = page_args(req)
    prefix = req.query.get("userId") or ""
    rows = db.query("SELECT %s FROM refresh_token WHERE user_id LIKE %%s ORDER BY refresh_token LIMIT %%s OFFSET %%s"
                    % COLUMNS, (prefix + "%", size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    rt = req.params["refreshToken"]
    r = db.one("SELECT %s FROM refresh_token WHERE refresh_token = %%s" % COLUMNS, (rt,))
    if not r:
        raise ApiError("ERR12029", rt)
    return to_json(r)


def delete(req, db):
    rt = req.params["refreshToken"]
    if db.execute("DELETE FROM refresh_token WHERE refresh_token = %s", (rt,)) == 0:
        raise ApiError("ERR12029", rt)
    log("INFO", H + "Oauth2RefreshTokenRefreshTokenDeleteHandler", "refresh token revoked")
    return {"refreshToken": rt}


if __name__ == "__main__":
    App("oauth2-refresh-token", int(os.environ.get("PORT", "6887")), [
        ("GET", "/oauth2/refresh_token", H + "Oauth2RefreshTokenGetHandler", get_page),
        ("GET", "/oauth2/refresh_token/{refreshToken}", H + "Oauth2RefreshTokenRefreshTokenGetHandler", get_one),
        ("DELETE", "/oauth2/refresh_token/{refreshToken}", H + "Oauth2RefreshTokenRefreshTokenDeleteHandler", delete),
    ]).serve()
