"""oauth2-user tasks: /oauth2/user and /oauth2/password."""
from locust import tag

from .common import ADMIN, ADMIN_EMAIL, ADMIN_PASSWORD, call, json_of, uid

P = "/oauth2/user"
PW = "/oauth2/password"


def new_user(**over):
    u = uid("u")
    body = {"userId": u, "userType": "customer", "firstName": "Lab", "lastName": "O'User",
            "email": u + "@lab.example", "password": "pw;" + u, "passwordConfirm": "pw;" + u,
            "roles": "user"}
    body.update(over)
    return body


@tag('correct')
def user_lifecycle(user):
    body = new_user()
    u = body["userId"]
    r = call(user, "POST", "user", P, 200, P + "@post", json=body)
    if json_of(r).get("userId") != u:
        return
    call(user, "GET", "user", P + "/" + u, 200, P + "/{userId}@get")
    upd = dict(body, firstName="Updated", roles="user admin")
    call(user, "PUT", "user", P, 200, P + "@put", json=upd)
    call(user, "POST", "user", PW + "/" + u, 200, PW + "/{userId}@post",
         json={"password": body["password"], "newPassword": "new'pw", "newPasswordConfirm": "new'pw"})
    call(user, "DELETE", "user", P + "/" + u, 200, P + "/{userId}@delete")


@tag('correct')
def user_page(user):
    call(user, "GET", "user", P + "?page=0&pageSize=5", 200, P + "@get")


@tag('error', 'user', 'register_user_400_user_exists')
def register_user_400_user_exists(user):
    call(user, "POST", "user", P, 400, P + "@post", json=new_user(userId=ADMIN))


@tag('error', 'user', 'register_user_400_email_exists')
def register_user_400_email_exists(user):
    call(user, "POST", "user", P, 400, P + "@post", json=new_user(email=ADMIN_EMAIL))


@tag('error', 'user', 'register_user_400_no_password')
def register_user_400_no_password(user):
    call(user, "POST", "user", P, 400, P + "@post", json=new_user(password="", passwordConfirm=""))


@tag('error', 'user', 'register_user_400_password_no_match')
def register_user_400_password_no_match(user):
    call(user, "POST", "user", P, 400, P + "@post", json=new_user(passwordConfirm="something-else"))


@tag('error', 'user', 'get_user_404_no_user')
def get_user_404_no_user(user):
    call(user, "GET", "user", P + "/" + uid("nu"), 404, P + "/{userId}@get")


@tag('error', 'user', 'get_user_page_400_no_page')
def get_user_page_400_no_page(user):
    call(user, "GET", "user", P + "?pageSize=5", 400, P + "@get")


@tag('error', 'user', 'update_user_404_no_user')
def update_user_404_no_user(user):
    call(user, "PUT", "user", P, 404, P + "@put", json=new_user())


@tag('error', 'user', 'delete_user_404_no_user')
def delete_user_404_no_user(user):
    call(user, "DELETE", "user", P + "/" + uid("nu"), 404, P + "/{userId}@delete")


@tag('error', 'password', 'update_password_401_wrong_password')
def update_password_401_wrong_password(user):
    call(user, "POST", "user", PW + "/" + ADMIN, 401, PW + "/{userId}@post",
         json={"password": "wrong", "newPassword": "x1", "newPasswordConfirm": "x1"})


@tag('error', 'password', 'update_password_404_user_not_found')
def update_password_404_user_not_found(user):
    call(user, "POST", "user", PW + "/" + uid("nu"), 404, PW + "/{userId}@post",
         json={"password": "x", "newPassword": "x1", "newPasswordConfirm": "x1"})


@tag('error', 'password', 'update_password_400_not_match')
def update_password_400_not_match(user):
    # the right old password and two different new ones: refused before anything changes
    call(user, "POST", "user", PW + "/" + ADMIN, 400, PW + "/{userId}@post",
         json={"password": ADMIN_PASSWORD, "newPassword": "x1", "newPasswordConfirm": "x2"})
