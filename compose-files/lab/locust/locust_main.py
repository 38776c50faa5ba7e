"""The lab's main locustfile: one HttpUser whose tasks are every tagged task of locustfiles/
(client, user, service, token, code: the seven services' endpoints). lo2 runs it with `--tags
correct` or `--tags correct <error tag>`; Locust then keeps only the tasks carrying one of those
tags.

An error task weighs ERROR_WEIGHT against 1 for each correct task, so an error test is about
a quarter error scenarios (there are 12 correct tasks).

Each task names its endpoint template as the request name (e.g. /oauth2/client/{clientId}@get).
A correct task's request succeeds when it gets its expected status; an error task's request is
always a Locust failure, "<code> <status> as expected" or "UNEXPECTED ...", as LO2's locustfiles
record the errors they provoke (locustfiles/common.py).
"""
import functools
import inspect

from locust import HttpUser, between

from locustfiles import client, code, common, service, token, user


ERROR_WEIGHT = 4


def _traced(f):
    """f, each run of it one trace (its tags kept: functools.wraps copies them)."""
    @functools.wraps(f)
    def task(user):
        common.new_trace(user)
        return f(user)
    return task


def _tasks(*modules):
    out = {}
    for m in modules:
        for _, f in inspect.getmembers(m, inspect.isfunction):
            if f.__module__ == m.__name__ and hasattr(f, "locust_tag_set"):
                out[_traced(f)] = ERROR_WEIGHT if "error" in f.locust_tag_set else 1
    return out


class OAuth2User(HttpUser):
    # the published ports on the host, as LO2's locustfiles; -H https://oauth2-token:6882 on the
    # compose network
    host = "https://localhost:6882"
    wait_time = between(0.5, 1.5)
    tasks = _tasks(client, user, service, token, code)
