"""oauth2-service tasks: /oauth2/service and its endpoints."""
from locust import tag

from .common import ADMIN, SERVICE_ID, call, json_of, uid

P = "/oauth2/service"


def new_service(**over):
    body = {"serviceId": uid("s")[:16], "serviceType": "openapi", "serviceName": "lab service",
            "serviceDesc": "a lab service; \"test\"", "scope": "lab.r lab.w", "ownerId": ADMIN, "host": "lightapi.net"}
    body.update(over)
    return body


@tag('correct')
def service_lifecycle(user):
    body = new_service()
    r = call(user, "POST", "service", P, 200, P + "@post", json=body)
    if not json_of(r).get("serviceId"):
        return
    sid = body["serviceId"]
    call(user, "GET", "service", P + "/" + sid, 200, P + "/{serviceId}@get")
    call(user, "PUT", "service", P, 200, P + "@put", json=dict(body, serviceType="swagger"))
    call(user, "POST", "service", P + "/" + sid + "/endpoint", 200, P + "/{serviceId}/endpoint@post",
         json=[{"endpoint": "/v1/lab@get", "operation": "getLab", "scope": "lab.r"}])
    call(user, "GET", "service", P + "/" + sid + "/endpoint", 200, P + "/{serviceId}/endpoint@get")
    call(user, "DELETE", "service", P + "/" + sid, 200, P + "/{serviceId}@delete")


@tag('correct')
def service_page(user):
    call(user, "GET", "service", P + "?page=1&pageSize=10", 200, P + "@get")


@tag('error', 'service', 'get_service_404_no_service')
def get_service_404_no_service(user):
    call(user, "GET", "service", P + "/" + uid("ns"), 404, P + "/{serviceId}@get", "ERR12015")


@tag('error', 'service', 'get_service_page_400_no_page')
def get_service_page_400_no_page(user):
    call(user, "GET", "service", P, 400, P + "@get", "ERR11000")


@tag('error', 'service', 'register_service_400_service_type')
def register_service_400_service_type(user):
    call(user, "POST", "service", P, 400, P + "@post", "ERR11004", json=new_service(serviceType="none"))


@tag('error', 'service', 'register_service_400_service_id')
def register_service_400_service_id(user):
    call(user, "POST", "service", P, 400, P + "@post", "ERR12018", json=new_service(serviceId=SERVICE_ID))


@tag('error', 'service', 'register_service_404_no_user')
def register_service_404_no_user(user):
    call(user, "POST", "service", P, 404, P + "@post", "ERR12013", json=new_service(ownerId=uid("nu")))


@tag('error', 'service', 'update_service_404_service_id')
def update_service_404_service_id(user):
    call(user, "PUT", "service", P, 404, P + "@put", "ERR12015", json=new_service())


@tag('error', 'service', 'update_service_404_user_id')
def update_service_404_user_id(user):
    call(user, "PUT", "service", P, 404, P + "@put", "ERR12013", json=new_service(serviceId=SERVICE_ID, ownerId=uid("nu")))


@tag('error', 'service', 'delete_service_404_no_service')
def delete_service_404_no_service(user):
    call(user, "DELETE", "service", P + "/" + uid("ns"), 404, P + "/{serviceId}@delete", "ERR12015")
