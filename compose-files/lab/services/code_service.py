"""oauth2-code (port 6881): light-oauth2's authorization code service - authenticates the user and
redirects to the client's redirect URI with a one-time code; PKCE challenges (RFC 7636) are
checked and kept for oauth2-token. Endpoints (doc.networknt.com, light-oauth2 code):
  GET  /oauth2/code?response_type=code&client_id=..[&redirect_uri=..&scope=..&state=..
                  &code_challenge=..&code_challenge_method=plain|S256]
       user credentials in "Authorization: Basic base64(userId:password)"
  POST /oauth2/code   the same parameters as a form, with j_username and j_password (login form)
Both answer 302, Location: <redirect uri>?code=..[&state=..]; bad user credentials answer an empty
401 with a Basic challenge, as undertow's authentication mechanism does.
"""
import base64
import binascii
import os
import re
import urllib.parse

from lab import ApiError, App, Response, check_password, log, new_id

H = "c.n.o.c.h."
CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]+$")
REALM = 'Basic realm="OAuth"'


def user_of_header(req):
    auth = req.headers.get("Authorization")
    if auth is None or not auth.strip():
        raise ApiError("ERR12002", challenge=REALM)
    try:
        if auth[:6].lower() != "basic ":
            raise ValueError(auth)
        return base64.b64decode(auth[6:].strip(), validate=True).decode().split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("ERR12004", auth[6:].strip(), challenge=REALM)


def issue_code(req, db, params, uid, pw, logger):
    rtype = params.get("response_type")
    if rtype is None:
        raise ApiError("ERR11000", "response_type", req.path)
    cid = params.get("client_id")
    if cid is None:
        raise ApiError("ERR11000", "client_id", req.path)
    if rtype != "code":
        raise ApiError("ERR11004", "response_type: does not have a value in the enumeration [code]")
    user = db.one("SELECT user_id, password FROM user_profile WHERE user_id = %s", (uid,))
    if not user or not check_password(pw, user["password"]):
        raise ApiError("ERR12016", challenge=REALM)
    client = db.one("SELECT client_id, redirect_uri, scope FROM client WHERE client_id = %s", (cid,))
    if not client:
        raise ApiError("ERR12014", cid)
    challenge = params.get("code_challenge")
    method = None
    if challenge is not None:
        method = params.get("code_challenge_method") or "plain"
        if method not in ("plain", "S256"):
            raise ApiError("ERR12033", method)
        if len(challenge) < 43:
            raise ApiError("ERR12034", challenge)
        if len(challenge) > 128:
            raise ApiError("ERR12035", challenge)
        if not CHALLENGE.match(challenge):
            raise ApiError("ERR12036", challenge)
    redirect = params.get("redirect_uri") or client["redirect_uri"] or "http://localhost:8080/authorization"
    code = new_id()
    db.execute("INSERT INTO authorization_code (code, client_id, user_id, redirect_uri, scope, code_challenge, "
               "code_challenge_method) VALUES (%s, %s, %s, %s, %s, %s, %s)",
               (code, cid, uid, params.get("redirect_uri"), params.get("scope") or client["scope"], challenge, method))
    location = redirect + ("&" if "?" in redirect else "?") + "code=" + code
    if params.get("state"):
        location += "&state=" + urllib.parse.quote(params["state"], safe="")
    log("DEBUG", logger, "redirectUri = %s" % location)
    log("INFO", logger, "authorization code issued clientId = %s userId = %s pkce = %s" % (cid, uid, method or "none"))
    return Response(302, None, {"Location": location})


def code_get(req, db):
    # the validator checks the query before the security handler asks for credentials
    for name in ("response_type", "client_id"):
        if req.query.get(name) is None:
            raise ApiError("ERR11000", name, req.path)
    uid, pw = user_of_header(req)
    return issue_code(req, db, req.query, uid, pw, H + "Oauth2CodeGetHandler")


def code_post(req, db):
    form = req.form()
    uid, pw = form.get("j_username"), form.get("j_password")
    if not uid or pw is None:
        raise ApiError("ERR12016", challenge=REALM)
    return issue_code(req, db, form, uid, pw, H + "Oauth2CodePostHandler")


if __name__ == "__main__":
    App("oauth2-code", int(os.environ.get("PORT", "6881")), [
        ("GET", "/oauth2/code", H + "Oauth2CodeGetHandler", code_get),
        ("POST", "/oauth2/code", H + "Oauth2CodePostHandler", code_post),
    ]).serve()
