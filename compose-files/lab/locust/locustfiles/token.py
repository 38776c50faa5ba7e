"""oauth2-token, oauth2-refresh-token and oauth2-key tasks: /oauth2/token (client credentials,
password and refresh_token grants, and its client authentication errors),
/oauth2/refresh_token and /oauth2/key/{keyId}. The authorization code grant is in code.py."""
from locust import tag

from .common import (ADMIN, ADMIN_PASSWORD, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, basic, call,
                     json_of, uid)

T = "/oauth2/token"
R = "/oauth2/refresh_token"
K = "/oauth2/key"
FORM = "application/x-www-form-urlencoded"


def post_token(user, form, expect, code=None, auth=None, ctype=FORM):
    headers = {"Content-Type": ctype}
    if auth is not False:
        headers["Authorization"] = auth or basic(CLIENT_ID, CLIENT_SECRET)
    return call(user, "POST", "token", T, expect, T + "@post", code, data=form, headers=headers)


def code_form():
    return {"grant_type": "authorization_code", "code": uid("code"), "redirect_uri": REDIRECT_URI}


@tag('correct')
def client_credentials_token(user):
    post_token(user, {"grant_type": "client_credentials", "scope": "petstore.r"}, 200)


@tag('correct')
def password_and_refresh_token(user):
    r = post_token(user, {"grant_type": "password", "username": ADMIN, "password": ADMIN_PASSWORD}, 200)
    rt = json_of(r).get("refresh_token")
    if not rt:
        return
    call(user, "GET", "refresh-token", R + "/" + rt, 200, R + "/{refreshToken}@get")
    r = post_token(user, {"grant_type": "refresh_token", "refresh_token": rt}, 200)
    rt = json_of(r).get("refresh_token")
    if rt:
        call(user, "DELETE", "refresh-token", R + "/" + rt, 200, R + "/{refreshToken}@delete")


@tag('correct')
def refresh_token_page(user):
    call(user, "GET", "refresh-token", R + "?page=1&pageSize=10", 200, R + "@get")


@tag('correct')
def key_certificate(user):
    call(user, "GET", "key", K + "/100", 200, K + "/{keyId}@get", headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)})


@tag('error', 'token', 'access_token_missing_authorization_header_400')
def access_token_missing_authorization_header(user):
    # light-oauth2 answers ERR12002 with 401 (status.yml), whatever LO2's tag name says
    post_token(user, code_form(), 401, "ERR12002", auth=False)


@tag('error', 'token', 'access_token_auth_header_error_401')
def access_token_auth_header_error_401(user):
    post_token(user, code_form(), 401, "ERR12003", auth="Bearer " + uid("t"))


@tag('error', 'token', 'access_token_authorization_form_401')
def access_token_authorization_form_401(user):
    post_token(user, code_form(), 401, "ERR12004", auth="Basic " + uid("x") + "!")


@tag('error', 'token', 'access_token_client_id_not_found_404')
def access_token_client_id_not_found_404(user):
    post_token(user, code_form(), 404, "ERR12014", auth=basic(uid("nc"), CLIENT_SECRET))


@tag('error', 'token', 'access_token_client_secret_wrong_401')
def access_token_client_secret_wrong_401(user):
    post_token(user, code_form(), 401, "ERR12007", auth=basic(CLIENT_ID, "wrong-secret"))


@tag('error', 'token', 'access_token_illegal_grant_type_400')
def access_token_illegal_grant_type_400(user):
    post_token(user, {"grant_type": "illegal_grant"}, 400, "ERR12001")


@tag('error', 'token', 'access_token_form_urlencoded_400')
def access_token_form_urlencoded_400(user):
    post_token(user, "grant_type=client_credentials", 400, "ERR12000", ctype="text/plain")


@tag('error', 'token', 'get_token_404')
def get_token_404(user):
    call(user, "GET", "refresh-token", R + "/" + uid("rt"), 404, R + "/{refreshToken}@get", "ERR12029")


@tag('error', 'token', 'delete_token_404')
def delete_token_404(user):
    call(user, "DELETE", "refresh-token", R + "/" + uid("rt"), 404, R + "/{refreshToken}@delete", "ERR12029")


@tag('error', 'token', 'get_token_page_400_no_page')
def get_token_page_400_no_page(user):
    call(user, "GET", "refresh-token", R + "?pageSize=10", 400, R + "@get", "ERR11000")
