"""Running the gateway: the first administrator (environment or command), a second process on the same
database, the notifications service down, a message channel that is not configured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from nrmm_kernel.reference import Department, Role
from tests.conftest import ROOT
from tests.gateway.conftest import ADMIN_USER, GATEWAY_ENV, new_mobile, nowhere
from tests.platform import start_platform


@pytest.fixture(scope="module")
def lonely_gateway(gateway, infra):
    """A second gateway process on the same database, whose notifications service is down."""
    platform = start_platform(infra, ["gateway"], {**GATEWAY_ENV, "NRMM_NOTIFICATIONS_URL": nowhere()},
                              joining=gateway.platform)
    try:
        yield platform
    finally:
        platform.stop()


def test_the_bootstrap_administrator_is_made_once(gateway, lonely_gateway):
    # two processes started with the same NRMM_BOOTSTRAP_ADMIN_*: one account, and both serve it
    assert gateway.accounts_named(ADMIN_USER) == 1
    with lonely_gateway.client("gateway") as http:
        assert http.post("/api/auth/token", data={"username": ADMIN_USER, "password": GATEWAY_ENV[
            "NRMM_BOOTSTRAP_ADMIN_PASSWORD"]}).status_code == 200


def test_without_the_notifications_service_no_code_is_kept(gateway, lonely_gateway):
    mobile = new_mobile()
    with lonely_gateway.client("gateway") as http:
        for _ in range(2):  # a failed delivery does not count against the number's limits
            failed = http.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
            assert failed.status_code == 503 and failed.json()["code"] == "delivery_unavailable"
    db = gateway.database("gateway")
    assert db["sms_codes"].count_documents({"mobile": mobile}) == 0
    assert {d["state"] for d in db["sms_sends"].find({"key": mobile})} == {"failed"}
    # the same number, through a gateway whose notifications service answers: a code arrives
    assert gateway.sms_code(mobile)


@pytest.fixture(scope="module")
def hanging_up_notifications():
    """A peer that takes each request and hangs up without an answer: did the message go out? Nobody knows."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_code_that_may_have_been_delivered_stays_usable_and_counts(gateway, infra, hanging_up_notifications):
    uncertain = start_platform(infra, ["gateway"], {**GATEWAY_ENV, "NRMM_NOTIFICATIONS_URL": hanging_up_notifications},
                               joining=gateway.platform)
    mobile = new_mobile()
    try:
        with uncertain.client("gateway") as http:
            answer = http.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
            assert answer.status_code == 503 and answer.json()["code"] == "delivery_uncertain", answer.text
    finally:
        uncertain.stop()
    db = gateway.database("gateway")
    assert db["sms_codes"].count_documents({"mobile": mobile}) == 1
    assert [d["state"] for d in db["sms_sends"].find({"key": mobile})] == ["uncertain"]


def create_admin(gateway, username: str, password: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NRMM_MONGODB_URL": gateway.infra.mongodb_url, "NRMM_NAMESPACE": gateway.platform.namespace,
           "NRMM_JWT_SECRET": gateway.platform.secret,  # the key of login lookups, as the gateway has it
           "NRMM_BOOTSTRAP_ADMIN_PASSWORD": password, "NRMM_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "gateway.main", "create-admin", "--username", username],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_an_operator_makes_an_administrator_from_the_command_line(gateway):
    made = create_admin(gateway, "ops-admin", "Operator-Passw0rd")
    assert made.returncode == 0 and "created" in made.stdout, made.stderr
    admin = gateway.bearer("ops-admin", "Operator-Passw0rd")
    me = gateway.http.get("/api/auth/me", headers=admin).json()
    assert me["role"] == "admin" and me["district"] is None and me["department"] == "ecology"
    again = create_admin(gateway, "ops-admin", "Other-Passw0rd")
    assert again.returncode == 0 and "exists already" in again.stdout
    assert gateway.login("ops-admin", "Other-Passw0rd").status_code == 401  # the password did not change
    weak = create_admin(gateway, "ops-admin-2", "weak")
    assert weak.returncode == 2 and "weak_password" in weak.stderr


def test_a_message_channel_without_a_provider_refuses_to_start(infra):
    with pytest.raises(RuntimeError, match="exited during start-up"):
        start_platform(infra, ["notifications"], {"NRMM_MESSAGE_CHANNEL": "sms"}).stop()


def test_the_outbox_is_read_over_http_only_where_the_platform_says_so(gateway, infra):
    # notifications as a deployment without NRMM_OUTBOX_READABLE runs it
    closed = start_platform(infra, ["notifications"], {"NRMM_OUTBOX_READABLE": "false"})
    try:
        admin = closed.token(Role.ADMIN, "ops-admin-city", department=Department.ECOLOGY)
        answer = closed.client("notifications").get("/api/notifications/outbox", headers=admin)
        assert answer.status_code == 404 and answer.json()["code"] == "outbox_not_readable", answer.text
        assert gateway.http.get("/api/notifications/outbox", headers=gateway.admin).status_code == 200
    finally:
        closed.stop()
