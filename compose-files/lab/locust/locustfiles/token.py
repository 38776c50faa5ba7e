"""oauth2-token tasks: /oauth2/token (client_credentials, password grants; token lookups)."""
import base64
import json

from locust import tag

from .common import ADMIN, ADMIN_PASSWORD, CLIENT_ID, CLIENT_SECRET, basic, call, json_of, uid

P = "/oauth2/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_token(user, expect, form, auth=None, headers=None):
    h = dict(headers or FORM)
    if auth:
        h["Authorization"] = auth
    return call(user, "POST", "token", P, expect, P + "@post", data=form, headers=h)


def jti_of(r):
    try:
        payload = json_of(r)["access_token"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    except (KeyError, IndexError, ValueError):
        return None


@tag('correct')
def client_credentials_token(user):
    r = post_token(user, 200, {"grant_type": "client_credentials"}, basic(CLIENT_ID, CLIENT_SECRET))
    jti = jti_of(r)
    if jti:
        call(user, "GET", "token", P + "/" + jti, 200, P + "/{tokenId}@get")
        call(user, "DELETE", "token", P + "/" + jti, 200, P + "/{tokenId}@delete")


@tag('correct')
def password_token(user):
    post_token(user, 200, {"grant_type": "password", "username": ADMIN, "password": ADMIN_PASSWORD,
                           "scope": "petstore.r"}, basic(CLIENT_ID, CLIENT_SECRET))


@tag('correct')
def token_page(user):
    call(user, "GET", "token", P + "?page=0&pageSize=5", 200, P + "@get")


@tag('error', 'token', 'access_token_client_id_not_found_404')
def access_token_client_id_not_found_404(user):
    post_token(user, 404, {"grant_type": "client_credentials"}, basic(uid("nc"), CLIENT_SECRET))


@tag('error', 'token', 'access_token_client_secret_wrong_401')
def access_token_client_secret_wrong_401(user):
    post_token(user, 401, {"grant_type": "client_credentials"}, basic(CLIENT_ID, "wrong-secret"))


@tag('error', 'token', 'access_token_missing_authorization_header_400')
def access_token_missing_authorization_header_400(user):
    post_token(user, 400, {"grant_type": "client_credentials"})


@tag('error', 'token', 'access_token_auth_header_error_401')
def access_token_auth_header_error_401(user):
    post_token(user, 401, {"grant_type": "client_credentials"}, "Bearer " + uid("t"))


@tag('error', 'token', 'access_token_illegal_grant_type_400')
def access_token_illegal_grant_type_400(user):
    post_token(user, 400, {"grant_type": "magic_grant"}, basic(CLIENT_ID, CLIENT_SECRET))


@tag('error', 'token', 'access_token_form_urlencoded_400')
def access_token_form_urlencoded_400(user):
    call(user, "POST", "token", P, 400, P + "@post", json={"grant_type": "client_credentials"},
         headers={"Authorization": basic(CLIENT_ID, CLIENT_SECRET)})


@tag('error', 'token', 'access_token_wrong_password_401')
def access_token_wrong_password_401(user):
    post_token(user, 401, {"grant_type": "password", "username": ADMIN, "password": "wrong"},
               basic(CLIENT_ID, CLIENT_SECRET))


@tag('error', 'token', 'get_token_404')
def get_token_404(user):
    call(user, "GET", "token", P + "/" + uid("nt"), 404, P + "/{tokenId}@get")


@tag('error', 'token', 'delete_token_404')
def delete_token_404(user):
    call(user, "DELETE", "token", P + "/" + uid("nt"), 404, P + "/{tokenId}@delete")


@tag('error', 'token', 'get_token_page_400_no_page')
def get_token_page_400_no_page(user):
    call(user, "GET", "token", P + "?pageSize=5", 400, P + "@get")
