"""oauth2-code tasks: /oauth2/code (the authorization code, with and without PKCE) and the code's
exchange at oauth2-token (grant_type=authorization_code)."""
import urllib.parse

from locust import tag

from .common import (ADMIN, ADMIN_PASSWORD, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, basic, call,
                     pkce_pair, uid)

P = "/oauth2/code"
T = "/oauth2/token"


def get_code(user, expect=302, code=None, user_auth=None, **q):
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": uid("st")}
    params.update(q)
    params = {k: v for k, v in params.items() if v is not None}
    r = call(user, "GET", "code", P + "?" + urllib.parse.urlencode(params), expect, P + "@get", code,
             headers={"Authorization": user_auth or basic(ADMIN, ADMIN_PASSWORD)})
    if expect != 302 or r.status_code != 302:
        return None
    loc = urllib.parse.urlsplit(r.headers.get("Location", ""))
    return urllib.parse.parse_qs(loc.query).get("code", [None])[0]


def exchange(user, code, expect, err=None, verifier=None):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        form["code_verifier"] = verifier
    call(user, "POST", "token", T, expect, T + "@post", err, data=form,
         headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET), "Content-Type": "application/x-www-form-urlencoded"})


def code_with_pkce(user):
    verifier, challenge = pkce_pair()
    return get_code(user, code_challenge=challenge, code_challenge_method="S256"), verifier


@tag('correct')
def authorization_code_flow(user):
    code = get_code(user)
    if code:
        exchange(user, code, 200)


@tag('correct')
def authorization_code_pkce_flow(user):
    code, verifier = code_with_pkce(user)
    if code:
        exchange(user, code, 200, verifier=verifier)


@tag('error', 'code', 'authorization_code_client_id_missing_400')
def authorization_code_client_id_missing_400(user):
    get_code(user, 400, "ERR11000", client_id=None)


@tag('error', 'code', 'authorization_code_missing_response_type_400')
def authorization_code_missing_response_type_400(user):
    get_code(user, 400, "ERR11000", response_type=None)


@tag('error', 'code', 'authorization_code_response_not_code_400')
def authorization_code_response_not_code_400(user):
    get_code(user, 400, "ERR11004", response_type="token")


@tag('error', 'code', 'authorization_code_invalid_client_id_404')
def authorization_code_invalid_client_id_404(user):
    get_code(user, 404, "ERR12014", client_id=uid("nc"))


@tag('error', 'code', 'authorization_code_invalid_password_401')
def authorization_code_invalid_password_401(user):
    # undertow's basic authentication: an empty 401 with a challenge (the ERROR line has ERR12016)
    get_code(user, 401, "", user_auth=basic(ADMIN, "wrong-password"))


@tag('error', 'pkce', 'invalid_code_challenge_method_pkce_400')
def invalid_code_challenge_method_pkce_400(user):
    get_code(user, 400, "ERR12033", code_challenge=pkce_pair()[1], code_challenge_method="S512")


@tag('error', 'pkce', 'code_challenge_too_short_pkce_400')
def code_challenge_too_short_pkce_400(user):
    get_code(user, 400, "ERR12034", code_challenge=pkce_pair()[1][:20], code_challenge_method="S256")


@tag('error', 'pkce', 'code_challenge_too_long_pkce_400')
def code_challenge_too_long_pkce_400(user):
    get_code(user, 400, "ERR12035", code_challenge="B" * 150, code_challenge_method="S256")


@tag('error', 'pkce', 'code_challenge_invalid_format_pkce_400')
def code_challenge_invalid_format_pkce_400(user):
    get_code(user, 400, "ERR12036", code_challenge="+" * 50, code_challenge_method="plain")


@tag('error', 'pkce', 'code_verifier_missing_pkce_400')
def code_verifier_missing_pkce_400(user):
    code, _ = code_with_pkce(user)
    if code:
        exchange(user, code, 400, "ERR12040")


@tag('error', 'pkce', 'code_verifier_too_short_pkce_400')
def code_verifier_too_short_pkce_400(user):
    code, verifier = code_with_pkce(user)
    if code:
        exchange(user, code, 400, "ERR12038", verifier=verifier[:40])


@tag('error', 'pkce', 'code_verifier_too_long_pkce_400')
def code_verifier_too_long_pkce_400(user):
    code, _ = code_with_pkce(user)
    if code:
        exchange(user, code, 400, "ERR12039", verifier="a" * 150)


@tag('error', 'pkce', 'invalid_code_verifier_format_PKCE_400')
def invalid_code_verifier_format_pkce_400(user):
    code, _ = code_with_pkce(user)
    if code:
        exchange(user, code, 400, "ERR12037", verifier="+" * 50)


@tag('error', 'pkce', 'verification_failed_pkce_400')
def verification_failed_pkce_400(user):
    code, _ = code_with_pkce(user)
    if code:
        exchange(user, code, 400, "ERR12041", verifier=pkce_pair()[0])
