"""oauth2-token (port 6882): light-oauth2's token service - issues access tokens (JWTs signed
RS256 with the key of keyId 100 that oauth2-key serves) for the authorization_code (with
PKCE), client_credentials, password and refresh_token grants. Endpoint (doc.networknt.com,
light-oauth2 token):
  POST /oauth2/token   form: grant_type [scope, code, redirect_uri, code_verifier, username,
                       password, refresh_token]; client credentials in
                       "Authorization: Basic base64(clientId:clientSecret)"
  answers {"access_token", "token_type": "bearer", "expires_in": 600[, "refresh_token"][, "scope"]}
"""
import hashlib
import hmac
import os
import re
import time
import uuid

from lab import (TLS_DIR, ApiError, App, Signer, authenticate_client, b64url, check_password, log,
                 new_id)

H = "c.n.o.t.h."
POST = H + "Oauth2TokenPostHandler"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]+$")
SIGNER = Signer(os.path.join(TLS_DIR, "primary.key"), "100")
EXPIRES = 600


def claims(client, scope, user_id=None, user_type=None):
    now = int(time.time())
    c = {"iss": "urn:com:networknt:oauth2:v1", "aud": "urn:com.networknt", "exp": now + EXPIRES,
         "jti": new_id(), "iat": now, "nbf": now - 120, "version": "1.0", "client_id": client["client_id"],
         "scope": (scope or "").split()}
    if user_id:
        c["user_id"] = user_id
        c["user_type"] = user_type or "admin"
    return c


def issue(db, client, grant, scope, user_id=None, user_type=None, refresh=False):
    out = {"access_token": SIGNER.jwt(claims(client, scope, user_id, user_type)), "token_type": "bearer",
           "expires_in": EXPIRES}
    if refresh:
        rt = str(uuid.uuid4())
        db.execute("INSERT INTO refresh_token (refresh_token, user_id, user_type, client_id, scope) "
                   "VALUES (%s, %s, %s, %s, %s)", (rt, user_id, user_type or "admin", client["client_id"], scope or ""))
        out["refresh_token"] = rt
    if scope:
        out["scope"] = scope
    log("INFO", POST, "access token issued grant_type = %s clientId = %s%s"
        % (grant, client["client_id"], " userId = %s" % user_id if user_id else ""))
    return out


def check_verifier(verifier):
    if verifier is None:
        return
    if len(verifier) < 43:
        raise ApiError("ERR12038", verifier)
    if len(verifier) > 128:
        raise ApiError("ERR12039", verifier)
    if not VERIFIER.match(verifier):
        raise ApiError("ERR12037", verifier)


def authorization_code(req, db, form):
    verifier = form.get("code_verifier")
    check_verifier(verifier)
    client = authenticate_client(req, db)
    code = form.get("code") or ""
    # the code is consumed whatever follows, as light-oauth2 removes it from its map
    row = db.one("SELECT code, client_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method "
                 "FROM authorization_code WHERE code = %s", (code,))
    if not row or db.execute("DELETE FROM authorization_code WHERE code = %s", (code,)) == 0:
        raise ApiError("ERR12008", code)
    if row["redirect_uri"] and form.get("redirect_uri") != row["redirect_uri"]:
        raise ApiError("ERR12026", form.get("redirect_uri"), row["redirect_uri"])
    challenge = row["code_challenge"]
    if challenge:
        if verifier is None:
            raise ApiError("ERR12040")
        if (row["code_challenge_method"] or "plain") == "S256":
            got = b64url(hashlib.sha256(verifier.encode("latin-1")).digest())
        else:
            got = verifier
        if not hmac.compare_digest(got, challenge):
            raise ApiError("ERR12041")
    user = db.one("SELECT user_type FROM user_profile WHERE user_id = %s", (row["user_id"],))
    return issue(db, client, "authorization_code", row["scope"] or client["scope"], row["user_id"],
                 user["user_type"] if user else None, refresh=True)


def password(req, db, form):
    client = authenticate_client(req, db)
    uid, pw = form.get("username"), form.get("password")
    if not uid:
        raise ApiError("ERR12022")
    if not pw:
        raise ApiError("ERR12023")
    if client["client_type"] != "trusted":
        raise ApiError("ERR12024")
    user = db.one("SELECT user_id, user_type, password FROM user_profile WHERE user_id = %s", (uid,))
    if not user:
        raise ApiError("ERR12013", uid)
    if not check_password(pw, user["password"]):
        raise ApiError("ERR12016")
    return issue(db, client, "password", form.get("scope") or client["scope"], uid, user["user_type"], refresh=True)


def refresh_token(req, db, form):
    client = authenticate_client(req, db)
    rt = form.get("refresh_token") or ""
    row = db.one("SELECT refresh_token, user_id, user_type, client_id, scope FROM refresh_token "
                 "WHERE refresh_token = %s", (rt,))
    if not row:
        raise ApiError("ERR12029", rt)
    if row["client_id"] != client["client_id"]:
        raise ApiError("ERR12028", client["client_id"], row["client_id"])
    db.execute("DELETE FROM refresh_token WHERE refresh_token = %s", (rt,))
    return issue(db, client, "refresh_token", row["scope"], row["user_id"], row["user_type"], refresh=True)


def token(req, db):
    form = req.form()
    grant = form.get("grant_type")
    log("DEBUG", POST, "grant_type = %s" % grant)
    if grant == "client_credentials":
        client = authenticate_client(req, db)
        return issue(db, client, grant, form.get("scope") or client["scope"])
    if grant == "authorization_code":
        return authorization_code(req, db, form)
    if grant == "password":
        return password(req, db, form)
    if grant == "refresh_token":
        return refresh_token(req, db, form)
    raise ApiError("ERR12001", grant)


if __name__ == "__main__":
    App("oauth2-token", int(os.environ.get("PORT", "6882")), [
        ("POST", "/oauth2/token", POST, token),
    ]).serve()
