"""The single entry point: bodies pass through both ways, sizes are limited before anything is forwarded,
a service that is down gets a stable answer."""

from __future__ import annotations

import json
import socket

import httpx

from tests.gateway.conftest import MAX_REQUEST_BYTES


def chunks(payload: bytes, size: int = 64 * 1024):
    for start in range(0, len(payload), size):
        yield payload[start:start + size]


def test_a_chunked_body_over_the_limit_is_counted_and_refused(gateway):
    g = gateway
    mobile, password = g.register_owner()
    owner = g.bearer(mobile, password)
    # no Content-Length: the gateway counts what arrives
    big = g.http.post("/api/registry/applications", headers={**owner, "Content-Type": "application/json"},
                      content=chunks(b" " * (MAX_REQUEST_BYTES + 1)))
    assert big.status_code == 413 and big.json()["code"] == "request_too_large"
    assert big.json()["details"]["limit_bytes"] == MAX_REQUEST_BYTES


def test_a_chunked_body_within_the_limit_reaches_the_service(gateway):
    g = gateway
    mobile, password = g.register_owner()
    owner = g.bearer(mobile, password)
    body = json.dumps({"registrant": {}, "uploads": {}, "machine": {}}).encode()
    answered = g.http.post("/api/registry/applications", headers={**owner, "Content-Type": "application/json"},
                           content=chunks(body, 7))
    # the registry read the body: it names a field inside it
    assert answered.status_code == 422 and answered.json()["field"].startswith(("registrant", "machine", "uploads"))


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(gateway):
    g = gateway
    url = httpx.URL(g.platform.urls["gateway"])
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        # the headers only: the answer comes without the gateway waiting for (or reading) 11 MB
        sock.sendall(f"POST /api/registry/uploads HTTP/1.1\r\nHost: {url.host}\r\n"
                     f"Content-Length: {MAX_REQUEST_BYTES + 1}\r\nContent-Type: application/octet-stream\r\n\r\n"
                     .encode())
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < content_length(answer):
            received = sock.recv(65536)
            if not received:
                break
            answer += received
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    assert " 413 " in head.splitlines()[0] and json.loads(body)["code"] == "request_too_large"


def raw_get(gateway, path: str) -> tuple[str, str]:
    """A request line sent as written: HTTP clients resolve dot segments before sending, attackers do not."""
    url = httpx.URL(gateway.platform.urls["gateway"])
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while received := sock.recv(65536):
            answer += received
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    return head.splitlines()[0], body


def test_dot_segments_never_reach_outside_a_services_api(gateway):
    for path in ("/api/registry/../../metrics", "/api/registry/%2e%2e/%2E%2E/metrics",
                 "/api/registry/..%2f..%2fmetrics", "/api/registry/./verify?code=x"):
        status, body = raw_get(gateway, path)
        assert " 400 " in status and json.loads(body)["code"] == "invalid_path", (path, status, body[:200])
    status, body = raw_get(gateway, "/api/registry/verify?code=x")  # reaches the registry, which wants a token
    assert " 401 " in status and json.loads(body)["code"] != "invalid_path"


def content_length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_service_that_is_down_gets_a_stable_answer(gateway):
    g = gateway
    mobile, password = g.register_owner()
    down = g.http.get("/api/inspection/inspections", headers=g.bearer(mobile, password))
    assert down.status_code == 503 and down.json()["code"] == "upstream_unavailable"
    assert down.headers["x-correlation-id"]


def test_query_strings_paths_and_the_service_root_are_forwarded_as_they_are(gateway):
    g = gateway
    mobile, password = g.register_owner()
    owner = g.bearer(mobile, password)
    root = g.http.get("/api/registry", headers=owner)
    assert root.status_code == 404 and root.json().get("field") != "path"  # the registry's answer, not ours
    unknown = g.http.get("/api/nothing", headers=owner)
    assert unknown.status_code == 404 and unknown.json()["field"] == "path"
    # without its query the registry would answer "malformed" with no detail: the query arrived, encoded as sent
    verify = g.http.get("/api/registry/verify", params={"code": "渝 A&B"}, headers={
        **owner, "Connection": "keep-alive, X-Private", "X-Private": "for the gateway only"})
    assert verify.status_code == 200 and verify.json()["valid"] is False and verify.json()["detail"]


def test_a_request_without_an_id_gets_a_fresh_correlation_id(gateway):
    g = gateway
    first = g.http.get("/api/registry/verify", params={"code": "x"})
    second = g.http.get("/api/registry/verify", params={"code": "x"})
    assert first.headers["x-correlation-id"] and first.headers["x-correlation-id"] != second.headers["x-correlation-id"]
    mine = g.http.get("/api/registry/verify", params={"code": "x"}, headers={"X-Request-Id": "req-verify-7"})
    assert mine.headers["x-correlation-id"] == "req-verify-7"
    # an id that would put markup or a second log line into every record it reaches is replaced
    for forged in ("<script>alert(1)</script>", "x" * 65, "a b"):
        replaced = g.http.get("/api/registry/verify", params={"code": "x"}, headers={"X-Request-Id": forged})
        assert replaced.headers["x-correlation-id"] not in (forged, "")


def test_the_gateways_own_endpoints_take_small_bodies_only(gateway):
    g = gateway
    padded = g.http.post("/api/auth/token", data={"username": "x", "password": "y" * (128 * 1024)})
    assert padded.status_code == 413 and padded.json()["code"] == "request_too_large"
    assert padded.json()["details"]["limit_bytes"] == 64 * 1024
    chunked = g.http.post("/api/auth/refresh", headers={"Content-Type": "application/json"},
                          content=chunks(b'{"refresh_token": "' + b"x" * (128 * 1024) + b'"}'))
    assert chunked.status_code == 413
    small = g.http.post("/api/auth/refresh", headers={"Content-Type": "application/json"},
                        content=chunks(b'{"refresh_token": "not-a-real-token-at-all"}', 5))
    assert small.status_code == 401 and small.json()["code"] == "invalid_refresh_token"
