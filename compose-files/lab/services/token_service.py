"""oauth2-token (port 6882): light-oauth2's token service - issues access tokens (a JWT signed
with HS256 here) for the client_credentials, password and authorization_code (with PKCE) grants,
and lists / reads / revokes the issued tokens. Endpoints:
  POST   /oauth2/token                form: grant_type=client_credentials|password|authorization_code
                                      [scope, username, password, code, redirect_uri, code_verifier];
                                      client credentials in "Authorization: Basic base64(id:secret)"
  GET    /oauth2/token?page=&pageSize=   one page of issued tokens
  GET    /oauth2/token/{tokenId}      one token's claims (tokenId is the JWT's jti)
  DELETE /oauth2/token/{tokenId}      revoke
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
import uuid

from lab import ApiError, App, b64url, check_password, log, page_args

H = "c.n.o.t.h."
KEY = os.environ.get("JWT_KEY", "lo2-lab-signing-key").encode()
GRANTS = ("client_credentials", "password", "authorization_code")
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]+$")
POST = H + "Oauth2TokenPostHandler"


def jwt(claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "lo2-lab"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(KEY, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
    return "%s.%s.%s" % (head, body, sig)


def authenticate_client(req, db):
    auth = req.headers.get("Authorization")
    if not auth:
        raise ApiError("ERR12002", cause="grant_type = %s" % req.form_data.get("grant_type"))
    if not auth.lower().startswith("basic "):
        raise ApiError("ERR12003", auth[:40], cause="authorization = %s" % auth[:40])
    try:
        cid, secret = base64.b64decode(auth[6:].strip(), validate=True).decode().split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("ERR12003", auth[:40], cause="authorization is not base64(clientId:clientSecret)")
    client = db.one("SELECT client_id, client_type, client_secret, scope, redirect_uri FROM client WHERE client_id = %s",
                    (cid,))
    if not client:
        raise ApiError("ERR12014", cid, cause="clientId = %s" % cid)
    if not check_password(secret, client["client_secret"]):
        raise ApiError("ERR12007", cause="clientId = %s" % cid)
    return client


def issue(db, client, grant, scope, user_id=None, refresh=False):
    now = int(time.time())
    jti = str(uuid.uuid4())
    claims = {"iss": "urn:com:networknt:oauth2:v1", "aud": "urn:com.networknt", "exp": now + 600,
              "jti": jti, "iat": now, "client_id": client["client_id"], "scope": (scope or "").split()}
    if user_id:
        claims["user_id"] = user_id
    db.execute("INSERT INTO oauth_token (token_id, client_id, user_id, grant_type, scope, expires_at) "
               "VALUES (%s, %s, %s, %s, %s, %s)", (jti, client["client_id"], user_id, grant, scope, now + 600))
    out = {"access_token": jwt(claims), "token_type": "bearer", "expires_in": 600}
    if refresh:
        rt = str(uuid.uuid4())
        db.execute("INSERT INTO refresh_token (refresh_token, user_id, client_id, scope) VALUES (%s, %s, %s, %s)",
                   (rt, user_id, client["client_id"], scope or ""))
        out["refresh_token"] = rt
    log("INFO", POST, "token issued grant_type = %s clientId = %s%s"
        % (grant, client["client_id"], " userId = %s" % user_id if user_id else ""))
    return out


def pkce_check(row, verifier):
    challenge = row.get("code_challenge")
    if not challenge:
        return
    if verifier is None or verifier == "":
        raise ApiError("ERR12040", cause="code = %s" % row["code"])
    if len(verifier) < 43:
        raise ApiError("ERR12037", verifier, cause="length %d < 43" % len(verifier))
    if len(verifier) > 128:
        raise ApiError("ERR12038", verifier[:16] + "...", cause="length %d > 128" % len(verifier))
    if not VERIFIER.match(verifier):
        raise ApiError("ERR12039", verifier, cause="characters outside [A-Za-z0-9-._~]")
    if (row.get("code_challenge_method") or "plain") == "S256":
        got = b64url(hashlib.sha256(verifier.encode()).digest())
    else:
        got = verifier
    if not hmac.compare_digest(got, challenge):
        raise ApiError("ERR12041", cause="code = %s method = %s" % (row["code"], row.get("code_challenge_method")))


def token(req, db):
    form = req.form()
    req.form_data = form
    grant = form.get("grant_type")
    if grant not in GRANTS:
        raise ApiError("ERR12001", grant, cause="grant_type = %s" % grant)
    client = authenticate_client(req, db)
    scope = form.get("scope") or client["scope"]
    if grant == "client_credentials":
        return issue(db, client, grant, scope)
    if grant == "password":
        uid, pw = form.get("username"), form.get("password")
        if not uid:
            raise ApiError("ERR11004", "username: is missing but it is required", cause="username missing")
        if not pw:
            raise ApiError("ERR12023", uid, cause="userId = %s" % uid)
        user = db.one("SELECT user_id, password FROM user_profile WHERE user_id = %s", (uid,))
        if not user:
            raise ApiError("ERR12013", uid, cause="userId = %s" % uid)
        if not check_password(pw, user["password"]):
            raise ApiError("ERR12016", cause="userId = %s" % uid)
        if client["client_type"] != "trusted":
            raise ApiError("ERR12024", cause="clientId = %s type = %s" % (client["client_id"], client["client_type"]))
        return issue(db, client, grant, scope, uid, refresh=True)
    # authorization_code: the code is consumed whatever follows, as light-oauth2 removes it
    code = form.get("code") or ""
    row = db.one("SELECT code, client_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method "
                 "FROM authorization_code WHERE code = %s", (code,))
    if not row or db.execute("DELETE FROM authorization_code WHERE code = %s", (code,)) == 0:
        raise ApiError("ERR12008", code, cause="code = %s" % code)
    if row["client_id"] != client["client_id"]:
        raise ApiError("ERR12008", code, cause="code of clientId = %s used by clientId = %s"
                       % (row["client_id"], client["client_id"]))
    pkce_check(row, form.get("code_verifier"))
    return issue(db, client, grant, row["scope"] or scope, row["user_id"], refresh=True)


def to_json(r):
    return {"tokenId": r["token_id"], "clientId": r["client_id"], "userId": r["user_id"],
            "grantType": r["grant_type"], "scope": r["scope"], "expiresAt": r["expires_at"]}


def get_page(req, db):
    page, size = page_args(req)
    rows = db.query("SELECT * FROM oauth_token ORDER BY update_ts DESC, token_id LIMIT %s OFFSET %s",
                    (size, page * size))
    return [to_json(r) for r in rows]


def get_one(req, db):
    tid = req.params["tokenId"]
    r = db.one("SELECT * FROM oauth_token WHERE token_id = %s", (tid,))
    if not r:
        raise ApiError("ERR12017", tid, cause="tokenId = %s" % tid)
    return to_json(r)


def delete(req, db):
    tid = req.params["tokenId"]
    if db.execute("DELETE FROM oauth_token WHERE token_id = %s", (tid,)) == 0:
        raise ApiError("ERR12017", tid, cause="tokenId = %s" % tid)
    log("INFO", H + "Oauth2TokenTokenIdDeleteHandler", "token revoked tokenId = %s" % tid)
    return {"tokenId": tid}


if __name__ == "__main__":
    App("oauth2-token", int(os.environ.get("PORT", "6882")), [
        ("POST", "/oauth2/token", POST, token),
        ("GET", "/oauth2/token", H + "Oauth2TokenGetHandler", get_page),
        ("GET", "/oauth2/token/{tokenId}", H + "Oauth2TokenTokenIdGetHandler", get_one),
        ("DELETE", "/oauth2/token/{tokenId}", H + "Oauth2TokenTokenIdDeleteHandler", delete),
    ]).serve()
