"""The authorization matrices' judge (tests/authz.py): a 5xx is wrong in every cell, allowed or denied."""

import httpx

from tests.authz import Endpoint, wrong_cells


def client(status: int) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(status, json={"code": "x"})), base_url="http://service")


def test_a_5xx_fails_an_allowed_cell_and_a_denied_one():
    endpoint = Endpoint("read", "GET", "/things", allowed=frozenset({"owner"}))
    callers = {"owner": {"Authorization": "Bearer a"}, "other": {"Authorization": "Bearer b"}, "anonymous": {}}
    wrong = wrong_cells(client(500), endpoint, callers)
    assert len(wrong) == 3 and all("5xx" in w for w in wrong)
    assert wrong_cells(client(503), endpoint, {"owner": callers["owner"]})


def test_an_allowed_cell_may_be_refused_by_the_domain_but_not_by_the_guard():
    endpoint = Endpoint("write", "POST", "/things", allowed=frozenset({"owner"}))
    assert wrong_cells(client(409), endpoint, {"owner": {"Authorization": "Bearer a"}}) == []
    assert wrong_cells(client(403), endpoint, {"owner": {"Authorization": "Bearer a"}})
