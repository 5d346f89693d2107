"""The identity checks hold when requests race: each rests on one insert or one delete, which MongoDB and
FerretDB both decide atomically (FerretDB's conditional updates are not)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.gateway.conftest import LOGIN_MAX_FAILURES, SMS_DAILY_LIMIT, new_mobile

RACERS = 12
SMS_MAX_ATTEMPTS = 5  # the default


def race(gateway, method: str, path: str, racers: int = RACERS, **kwargs) -> list[httpx.Response]:
    """The same request sent ``racers`` times at once, each on its own connection."""
    start = threading.Barrier(racers)

    def one(_):
        with httpx.Client(base_url=gateway.platform.urls["gateway"], timeout=60) as client:
            start.wait()
            return client.request(method, path, **kwargs)

    with ThreadPoolExecutor(racers) as pool:
        return list(pool.map(one, range(racers)))


def outcomes(responses: list[httpx.Response]) -> Counter:
    return Counter((r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses)


def test_a_refresh_token_used_by_racing_requests_renews_the_session_at_most_once(gateway):
    g = gateway
    mobile, password = g.register_owner()
    token = g.login(mobile, password).json()["refresh_token"]
    responses = race(g, "POST", "/api/auth/refresh", json={"refresh_token": token})
    seen = outcomes(responses)
    assert seen[(200, None)] <= 1, seen
    assert seen[(401, "refresh_token_revoked")] == RACERS - seen[(200, None)], seen
    # the token was used more than once: the session is over, the winner's new token included
    for winner in (r for r in responses if r.status_code == 200):
        again = g.http.post("/api/auth/refresh", json={"refresh_token": winner.json()["refresh_token"]})
        assert again.status_code == 401 and again.json()["code"] == "refresh_token_revoked"


def test_an_sms_code_used_by_racing_registrations_makes_one_account(gateway):
    g = gateway
    mobile = new_mobile()
    code = g.sms_code(mobile)
    # as many racers as a code has tries: every one is judged, one spends the code
    responses = race(g, "POST", "/api/auth/owners", racers=SMS_MAX_ATTEMPTS,
                     json={"mobile": mobile, "password": "Owner-Passw0rd", "sms_code": code})
    seen = outcomes(responses)
    assert seen[(201, None)] == 1, seen
    assert set(seen) <= {(201, None), (422, "sms_code_invalid"), (409, "username_taken")}, seen
    assert g.accounts_named(mobile) == 1


def test_more_racing_uses_of_an_sms_code_than_it_has_tries_never_make_two_accounts(gateway):
    g = gateway
    mobile = new_mobile()
    code = g.sms_code(mobile)
    # each try is counted before it is judged: racers beyond the limit may use the code up for everyone
    responses = race(g, "POST", "/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd",
                                                          "sms_code": code})
    seen = outcomes(responses)
    assert seen[(201, None)] <= 1, seen
    assert set(seen) <= {(201, None), (422, "sms_code_invalid"), (409, "username_taken")}, seen
    assert g.accounts_named(mobile) == seen[(201, None)]


def test_racing_wrong_passwords_get_no_more_tries_than_the_limit(gateway):
    g = gateway
    mobile, password = g.register_owner()
    responses = race(g, "POST", "/api/auth/token", data={"username": mobile, "password": "Wrong-Passw0rd"})
    seen = outcomes(responses)
    judged = seen[(401, "invalid_credentials")]
    assert 1 <= judged <= LOGIN_MAX_FAILURES, seen
    assert seen[(429, "too_many_attempts")] == RACERS - judged, seen
    # refused attempts are not failures: the lock comes after exactly the limit of judged wrong passwords
    while judged < LOGIN_MAX_FAILURES:
        assert g.login(mobile, "Wrong-Passw0rd").json()["code"] == "invalid_credentials"
        judged += 1
    assert g.login(mobile, password).status_code == 429  # and the right password waits too


def test_racing_sms_requests_send_no_more_than_the_daily_limit(gateway):
    g = gateway
    mobile = new_mobile()
    responses = race(g, "POST", "/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
    seen = outcomes(responses)
    assert seen[(202, None)] == SMS_DAILY_LIMIT, seen  # racing requests are put in order: the first few win
    assert seen[(429, "sms_rate_limited")] == RACERS - seen[(202, None)], seen
    sent = g.http.get("/api/notifications/outbox", params={"to": mobile, "limit": 100}, headers=g.admin).json()
    assert len(sent) == seen[(202, None)]


def test_racing_guesses_use_up_an_sms_code(gateway):
    g = gateway
    mobile = new_mobile()
    code = g.sms_code(mobile)
    wrong = "000000" if code != "000000" else "111111"
    responses = race(g, "POST", "/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd",
                                                          "sms_code": wrong})
    assert outcomes(responses) == Counter({(422, "sms_code_invalid"): RACERS})
    late = g.http.post("/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd", "sms_code": code})
    assert late.status_code == 422 and late.json()["code"] == "sms_code_invalid"  # even the right one, now
