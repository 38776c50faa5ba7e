"""oauth2-client tasks: /oauth2/client (register, get, page, update, delete, service links)."""
from locust import tag

from .common import ADMIN, CLIENT_ID, call, json_of, uid

P = "/oauth2/client"


def new_client(**over):
    body = {"clientType": "public", "clientProfile": "mobile", "clientName": uid("c")[:20],
            "clientDesc": "lab client; it's a \"test\"", "scope": "petstore.r petstore.w",
            "redirectUri": "http://localhost:8080/authorization", "ownerId": ADMIN, "host": "lightapi.net"}
    body.update(over)
    return body


@tag('correct')
def client_lifecycle(user):
    r = call(user, "POST", "client", P, 200, P + "@post", json=new_client())
    cid = json_of(r).get("clientId")
    if not cid:
        return
    call(user, "GET", "client", P + "/" + cid, 200, P + "/{clientId}@get")
    call(user, "PUT", "client", P, 200, P + "@put", json=new_client(clientId=cid, clientType="confidential"))
    call(user, "POST", "client", P + "/" + cid + "/service/AACT0002", 200, P + "/{clientId}/service/{serviceId}@post",
         json=["/v1/pets@get"])
    call(user, "GET", "client", P + "/" + cid + "/service", 200, P + "/{clientId}/service@get")
    call(user, "DELETE", "client", P + "/" + cid, 200, P + "/{clientId}@delete")


@tag('correct')
def client_page(user):
    call(user, "GET", "client", P + "?page=1&pageSize=10", 200, P + "@get")


@tag('error', 'client', 'get_client_404_no_client')
def get_client_404_no_client(user):
    call(user, "GET", "client", P + "/" + uid("nc"), 404, P + "/{clientId}@get", "ERR12014")


@tag('error', 'client', 'get_client_page_400_no_page')
def get_client_page_400_no_page(user):
    call(user, "GET", "client", P + "?pageSize=10", 400, P + "@get", "ERR11000")


@tag('error', 'client', 'register_client_400_clientType')
def register_client_400_client_type(user):
    call(user, "POST", "client", P, 400, P + "@post", "ERR11004", json=new_client(clientType="none"))


@tag('error', 'client', 'register_client_400_clientProfile')
def register_client_400_client_profile(user):
    call(user, "POST", "client", P, 400, P + "@post", "ERR11004", json=new_client(clientProfile="none"))


@tag('error', 'client', 'register_client_404_no_user')
def register_client_404_no_user(user):
    call(user, "POST", "client", P, 404, P + "@post", "ERR12013", json=new_client(ownerId=uid("nu")))


@tag('error', 'client', 'update_client_404_clientId')
def update_client_404_client_id(user):
    call(user, "PUT", "client", P, 404, P + "@put", "ERR12014", json=new_client(clientId=uid("nc")))


@tag('error', 'client', 'update_client_404_ownerId')
def update_client_404_owner_id(user):
    call(user, "PUT", "client", P, 404, P + "@put", "ERR12013", json=new_client(clientId=CLIENT_ID, ownerId=uid("nu")))


@tag('error', 'client', 'update_client_400_clientType')
def update_client_400_client_type(user):
    call(user, "PUT", "client", P, 400, P + "@put", "ERR11004", json=new_client(clientId=CLIENT_ID, clientType="none"))


@tag('error', 'client', 'update_client_400_clientProfile')
def update_client_400_client_profile(user):
    call(user, "PUT", "client", P, 400, P + "@put", "ERR11004", json=new_client(clientId=CLIENT_ID, clientProfile="none"))


@tag('error', 'client', 'delete_client_404_no_client')
def delete_client_404_no_client(user):
    call(user, "DELETE", "client", P + "/" + uid("nc"), 404, P + "/{clientId}@delete", "ERR12014")
