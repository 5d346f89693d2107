"""Issue 13, points 1 and 6 over HTTP: SMS pumping from one address, X-Forwarded-For believed only from a
configured proxy, a staff password that is too weak."""

import pytest

from tests.gateway.conftest import SMS_DAILY_LIMIT, new_mobile, running_gateway

PER_ADDRESS = 3


@pytest.fixture(scope="module")
def behind_proxy(infra):
    yield from running_gateway(infra, ["notifications", "gateway"], {"NRMM_SMS_MAX_PER_ADDRESS": str(PER_ADDRESS)})


@pytest.fixture(scope="module")
def exposed(infra):
    """No proxy configured (the default): X-Forwarded-For is the client's say-so and counts for nothing."""
    yield from running_gateway(infra, ["notifications", "gateway"], {"NRMM_SMS_MAX_PER_ADDRESS": str(PER_ADDRESS),
                                                                     "NRMM_TRUSTED_PROXIES": "[]"})


def ask(g, mobile: str, address: str | None):
    return g.http.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"},
                       headers={"X-Forwarded-For": address} if address else None)


def sent_to(g, mobile: str) -> int:
    return g.database("notifications")["outbox_messages"].count_documents({"to": mobile})


def test_one_address_cannot_pump_sms_to_many_numbers(behind_proxy):  # issue 13 point 1
    g = behind_proxy
    for _ in range(PER_ADDRESS):
        assert ask(g, new_mobile(), "203.0.113.9").status_code == 202
    mobile = new_mobile()
    refused = ask(g, mobile, "203.0.113.9")
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "sms_rate_limited" and refused.json()["details"]["scope"] == "address"
    assert sent_to(g, mobile) == 0
    # the same /64 is one client; another address is not held up
    assert ask(g, new_mobile(), "2001:db8:5::1").status_code == 202
    assert ask(g, mobile, "198.51.100.3").status_code == 202
    assert sent_to(g, mobile) == 1


def test_a_send_the_number_refused_does_not_count_against_the_address(behind_proxy):
    g = behind_proxy
    mobile = new_mobile()
    for n in range(SMS_DAILY_LIMIT):  # the number's day is used up, from addresses of its own
        assert ask(g, mobile, f"192.0.2.{n + 1}").status_code == 202
    for _ in range(PER_ADDRESS):
        refused = ask(g, mobile, "192.0.2.100")
        assert refused.status_code == 429 and refused.json()["field"] == "mobile", refused.text
    for _ in range(PER_ADDRESS):  # the address has sent nothing yet
        assert ask(g, new_mobile(), "192.0.2.100").status_code == 202


def test_x_forwarded_for_from_an_unconfigured_peer_is_ignored(exposed):  # issue 13 point 6
    g = exposed
    for n in range(PER_ADDRESS):
        assert ask(g, new_mobile(), f"203.0.113.{n + 1}").status_code == 202
    refused = ask(g, new_mobile(), "203.0.113.200")  # a new forged address each time: still the one peer
    assert refused.status_code == 429 and refused.json()["details"]["scope"] == "address"


def test_staff_passwords_must_be_strong(behind_proxy):  # issue 13 point 6
    g = behind_proxy
    for weak, code in (("password1", "common_password"), ("Passw0rd-1", "weak_password")):
        made = g.http.post("/api/auth/staff", headers=g.admin, json={
            "username": "rev-weak", "password": weak, "role": "reviewer", "department": "ecology", "district": "01"})
        assert made.status_code == 422, made.text
        assert (made.json()["code"], made.json()["field"]) == (code, "password")
    made = g.http.post("/api/auth/staff", headers=g.admin, json={
        "username": "rev-weak", "password": "Yubei-Review-2026", "role": "reviewer", "department": "ecology",
        "district": "01"})
    assert made.status_code == 201, made.text
