"""oauth2-user tasks: /oauth2/user and /oauth2/password/{userId}."""
from locust import tag

from .common import ADMIN, ADMIN_EMAIL, call, json_of, uid

P = "/oauth2/user"
PW = "/oauth2/password"


def new_user(**over):
    u = uid("u")[:16]
    body = {"userId": u, "userType": "customer", "firstName": "Lab", "lastName": "O'User",
            "email": u + "@example.com", "password": "pw-" + u, "passwordConfirm": "pw-" + u}
    body.update(over)
    return body


def registered(user):
    body = new_user()
    r = call(user, "POST", "user", P, 200, P + "@post", json=body)
    return body if json_of(r).get("userId") else None


@tag('correct')
def user_lifecycle(user):
    body = registered(user)
    if not body:
        return
    u = body["userId"]
    call(user, "GET", "user", P + "/" + u, 200, P + "/{userId}@get")
    call(user, "PUT", "user", P, 200, P + "@put", json=dict(body, firstName="Changed"))
    call(user, "POST", "user", PW + "/" + u, 200, PW + "/{userId}@post",
         json={"password": body["password"], "newPassword": "new-pw", "newPasswordConfirm": "new-pw"})
    call(user, "DELETE", "user", P + "/" + u, 200, P + "/{userId}@delete")


@tag('correct')
def user_page(user):
    call(user, "GET", "user", P + "?page=1&pageSize=5", 200, P + "@get")


@tag('error', 'user', 'register_user_400_user_exists')
def register_user_400_user_exists(user):
    call(user, "POST", "user", P, 400, P + "@post", "ERR12020", json=new_user(userId=ADMIN))


@tag('error', 'user', 'register_user_400_email_exists')
def register_user_400_email_exists(user):
    call(user, "POST", "user", P, 400, P + "@post", "ERR12021", json=new_user(email=ADMIN_EMAIL))


@tag('error', 'user', 'register_user_400_no_password')
def register_user_400_no_password(user):
    body = new_user()
    del body["passwordConfirm"]
    call(user, "POST", "user", P, 400, P + "@post", "ERR12011", json=body)


@tag('error', 'user', 'register_user_400_password_no_match')
def register_user_400_password_no_match(user):
    call(user, "POST", "user", P, 400, P + "@post", "ERR12012", json=new_user(passwordConfirm="other"))


@tag('error', 'user', 'get_user_404_no_user')
def get_user_404_no_user(user):
    call(user, "GET", "user", P + "/" + uid("nu"), 404, P + "/{userId}@get", "ERR12013")


@tag('error', 'user', 'get_user_page_400_no_page')
def get_user_page_400_no_page(user):
    call(user, "GET", "user", P, 400, P + "@get", "ERR11000")


@tag('error', 'user', 'update_user_404_no_user')
def update_user_404_no_user(user):
    call(user, "PUT", "user", P, 404, P + "@put", "ERR12013", json=new_user())


@tag('error', 'user', 'delete_user_404_no_user')
def delete_user_404_no_user(user):
    call(user, "DELETE", "user", P + "/" + uid("nu"), 404, P + "/{userId}@delete", "ERR12013")


@tag('error', 'password', 'update_password_401_wrong_password')
def update_password_401_wrong_password(user):
    call(user, "POST", "user", PW + "/" + ADMIN, 401, PW + "/{userId}@post", "ERR12016",
         json={"password": "not-the-password", "newPassword": "x1", "newPasswordConfirm": "x1"})


@tag('error', 'password', 'update_password_404_user_not_found')
def update_password_404_user_not_found(user):
    call(user, "POST", "user", PW + "/" + uid("nu"), 404, PW + "/{userId}@post", "ERR12013",
         json={"password": "pw", "newPassword": "x1", "newPasswordConfirm": "x1"})


@tag('error', 'password', 'update_password_400_not_match')
def update_password_400_not_match(user):
    body = registered(user)
    if body:
        call(user, "POST", "user", PW + "/" + body["userId"], 400, PW + "/{userId}@post", "ERR12012",
             json={"password": body["password"], "newPassword": "x1", "newPasswordConfirm": "x2"})
        call(user, "DELETE", "user", P + "/" + body["userId"], 200, P + "/{userId}@delete")
