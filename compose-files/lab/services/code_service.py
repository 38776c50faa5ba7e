"""oauth2-code (port 6881): light-oauth2's authorization code service - authenticates the user
(HTTP Basic) and redirects to the client's redirect URI with a one-time code; PKCE challenges
(RFC 7636) are checked and stored for oauth2-token. Endpoint:
  GET /oauth2/code?response_type=code&client_id=..[&redirect_uri=..&scope=..&state=..
                  &code_challenge=..&code_challenge_method=plain|S256]
      with "Authorization: Basic base64(userId:password)"; answers 302, Location: <uri>?code=..
"""
import base64
import binascii
import os
import re
import urllib.parse
import uuid

from lab import ApiError, App, Response, check_password, log

H = "c.n.o.c.h."
GET = H + "Oauth2CodeGetHandler"
CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]+$")


def code(req, db):
    rtype = req.need_query("response_type")
    cid = req.need_query("client_id")
    if rtype != "code":
        raise ApiError("ERR12042", rtype, cause="response_type = %s" % rtype)
    client = db.one("SELECT client_id, redirect_uri, scope FROM client WHERE client_id = %s", (cid,))
    if not client:
        raise ApiError("ERR12014", cid, cause="clientId = %s" % cid)
    auth = req.headers.get("Authorization")
    if not auth:
        raise ApiError("ERR12002", cause="clientId = %s" % cid)
    try:
        if not auth.lower().startswith("basic "):
            raise ValueError(auth[:20])
        uid, pw = base64.b64decode(auth[6:].strip(), validate=True).decode().split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("ERR12003", auth[:40], cause="authorization = %s" % auth[:40])
    user = db.one("SELECT user_id, password FROM user_profile WHERE user_id = %s", (uid,))
    if not user or not check_password(pw, user["password"]):
        raise ApiError("ERR12016", cause="userId = %s%s" % (uid, "" if user else " not found"))
    challenge = req.query.get("code_challenge")
    method = req.query.get("code_challenge_method")
    if challenge is not None:
        method = method or "plain"
        if method not in ("plain", "S256"):
            raise ApiError("ERR12033", method, cause="code_challenge_method = %s" % method)
        if len(challenge) < 43:
            raise ApiError("ERR12034", challenge, cause="length %d < 43" % len(challenge))
        if len(challenge) > 128:
            raise ApiError("ERR12035", challenge[:16] + "...", cause="length %d > 128" % len(challenge))
        if not CHALLENGE.match(challenge):
            raise ApiError("ERR12036", challenge, cause="characters outside [A-Za-z0-9-._~]")
    elif method:
        raise ApiError("ERR12033", method, cause="code_challenge_method without code_challenge")
    redirect = req.query.get("redirect_uri") or client["redirect_uri"] or "http://localhost:8080/authorization"
    c = str(uuid.uuid4())
    db.execute("INSERT INTO authorization_code (code, client_id, user_id, redirect_uri, scope, code_challenge, "
               "code_challenge_method) VALUES (%s, %s, %s, %s, %s, %s, %s)",
               (c, cid, uid, req.query.get("redirect_uri"), req.query.get("scope") or client["scope"],
                challenge, method if challenge else None))
    log("INFO", GET, "code issued clientId = %s userId = %s pkce = %s" % (cid, uid, method if challenge else "none"))
    q = {"code": c}
    if req.query.get("state"):
        q["state"] = req.query["state"]
    sep = "&" if "?" in redirect else "?"
    return Response(302, None, {"Location": redirect + sep + urllib.parse.urlencode(q)})


if __name__ == "__main__":
    App("oauth2-code", int(os.environ.get("PORT", "6881")), [
        ("GET", "/oauth2/code", GET, code),
    ]).serve()
