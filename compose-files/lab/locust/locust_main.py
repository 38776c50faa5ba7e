"""The lab's main locustfile: one HttpUser whose tasks are every tagged task of locustfiles/
(client, user, service, token, code). lo2 runs it with `--tags correct` or `--tags correct
<error tag>`; Locust then keeps only the tasks carrying one of those tags.

An error task weighs ERROR_WEIGHT against 1 for each correct task, so an error test is about
one fifth error scenarios (there are 16 correct tasks).

Each task names its endpoint template as the request name (e.g. /oauth2/client/{clientId}@get)
and counts a request as a success when the status is the one the task expects, so an error
task's 404 is a success and a Locust failure always means the stack misbehaved.
"""
import inspect

from locust import HttpUser, between

from locustfiles import client, code, service, token, user


ERROR_WEIGHT = 4


def _tasks(*modules):
    out = {}
    for m in modules:
        for _, f in inspect.getmembers(m, inspect.isfunction):
            if f.__module__ == m.__name__ and hasattr(f, "locust_tag_set"):
                out[f] = ERROR_WEIGHT if "error" in f.locust_tag_set else 1
    return out


class OAuth2User(HttpUser):
    # inside the compose network; -H http://127.0.0.1 targets the published ports instead
    host = "http://oauth2-token:6882"
    wait_time = between(0.5, 1.5)
    tasks = _tasks(client, user, service, token, code)
