"""Accounts and tokens end to end through the gateway, on real infrastructure (rule F1, DOMAIN §4)."""


from nrmm_kernel.reference import Role
from tests.gateway.conftest import (
    LOGIN_MAX_FAILURES,
    LOGIN_MAX_FAILURES_PER_ADDRESS,
    LOGIN_MAX_FAILURES_PER_USERNAME,
    SMS_DAILY_LIMIT,
    new_mobile,
)
from tests.registry.fixtures import JPEG, PDF, PNG, REQUIRED_KINDS, machine, registrant


def test_an_owner_registers_logs_in_refreshes_logs_out_and_applies_for_a_code(gateway):
    g = gateway
    mobile, password = g.register_owner()
    tokens = g.login(mobile, password).json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    owner = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = g.http.get("/api/auth/me", headers=owner).json()
    assert me["role"] == "owner" and me["username"] == mobile and "password_hash" not in me

    refreshed = g.http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    new_refresh = refreshed.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]
    owner = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}

    # apply for a code through the one base URL, with the request id as the correlation id
    uploads = {}
    contents = {"identity_proof": PDF, "conformity_certificate": PDF, "machine_nameplate": JPEG}
    for kind in REQUIRED_KINDS:
        uploaded = g.http.post("/api/registry/uploads", headers=owner, data={"kind": kind},
                               files={"file": ("f", contents.get(kind, PNG), "application/octet-stream")})
        assert uploaded.status_code == 201, uploaded.text
        uploads[kind] = [uploaded.json()["upload_id"]]
    applied = g.http.post("/api/registry/applications", headers={**owner, "X-Request-Id": "req-owner-apply-1"},
                          json={"registrant": registrant(mobile=mobile), "uploads": uploads,
                                "machine": machine(factory_serial=f"GW-{mobile}")})
    assert applied.status_code == 201, applied.text
    assert applied.headers["x-correlation-id"] == "req-owner-apply-1"
    assert applied.json()["owner_account_id"] == me["account_id"]
    # the registry itself received it: the events the request caused carry it as their correlation id
    commits = list(g.database("registry")["event_store"].find({}, projection={"events": 1}))
    correlated = [e for c in commits for e in c["events"] if e.get("correlationid") == "req-owner-apply-1"]
    assert correlated and all(e["type"].startswith("cn.cq.nrmm.registry.") for e in correlated)

    assert g.http.post("/api/auth/logout", json={"refresh_token": new_refresh}).status_code == 204
    after = g.http.post("/api/auth/refresh", json={"refresh_token": new_refresh})
    assert after.status_code == 401 and after.json()["code"] == "refresh_token_revoked"


def test_whether_a_number_is_registered_is_told_only_to_whoever_holds_the_phone(gateway):
    g = gateway
    mobile, _ = g.register_owner()
    body = {"mobile": mobile, "password": "Other-Passw0rd", "name": "李四"}
    guessed = g.http.post("/api/auth/owners", json={**body, "sms_code": "000000"})
    assert guessed.status_code == 422 and guessed.json()["field"] == "sms_code", guessed.text
    holder = g.http.post("/api/auth/owners", json={**body, "sms_code": g.sms_code(mobile)})
    assert holder.status_code == 409 and holder.json()["code"] == "username_taken"


def test_a_refresh_token_used_twice_ends_the_session(gateway):
    g = gateway
    mobile, password = g.register_owner()
    first = g.login(mobile, password).json()["refresh_token"]
    second = g.http.post("/api/auth/refresh", json={"refresh_token": first}).json()["refresh_token"]
    replay = g.http.post("/api/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_revoked"
    # the stolen copy's family is closed: the legitimate newer token is refused too
    assert g.http.post("/api/auth/refresh", json={"refresh_token": second}).status_code == 401


def test_changing_the_password_revokes_every_refresh_token(gateway):
    g = gateway
    mobile, password = g.register_owner()
    session = g.login(mobile, password).json()
    owner = {"Authorization": f"Bearer {session['access_token']}"}
    weak = g.http.post("/api/auth/password", headers=owner, json={"old_password": password, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    changed = g.http.post("/api/auth/password", headers=owner,
                          json={"old_password": password, "new_password": "Newer-Passw0rd"})
    assert changed.status_code == 204
    assert g.http.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401
    assert g.login(mobile, password).status_code == 401
    assert g.login(mobile, "Newer-Passw0rd").status_code == 200


def test_an_owner_who_forgot_the_password_resets_it_with_an_sms_code(gateway):
    g = gateway
    mobile, password = g.register_owner()
    session = g.login(mobile, password).json()
    weak = g.http.post("/api/auth/password-reset", json={"mobile": mobile, "sms_code": "000000",
                                                         "new_password": "weakweak"})
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    code = g.sms_code(mobile, purpose="reset_password")
    reset = g.http.post("/api/auth/password-reset", json={"mobile": mobile, "sms_code": code,
                                                          "new_password": "Reset-Passw0rd"})
    assert reset.status_code == 204, reset.text
    assert g.login(mobile, password).status_code == 401
    assert g.login(mobile, "Reset-Passw0rd").status_code == 200
    old_session = g.http.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert old_session.status_code == 401 and old_session.json()["code"] == "refresh_token_revoked"
    # a registration code does not reset a password
    other = g.sms_code(mobile, purpose="register")
    wrong_purpose = g.http.post("/api/auth/password-reset", json={"mobile": mobile, "sms_code": other,
                                                                  "new_password": "Again-Passw0rd"})
    assert wrong_purpose.status_code == 422 and wrong_purpose.json()["code"] == "sms_code_invalid"


def test_wrong_passwords_are_throttled_with_a_clear_error(gateway):
    g = gateway
    mobile, password = g.register_owner()
    for _ in range(LOGIN_MAX_FAILURES):
        wrong = g.login(mobile, "Wrong-Passw0rd")
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    throttled = g.login(mobile, password)  # even the right password waits now
    assert throttled.status_code == 429 and throttled.json()["code"] == "too_many_attempts"
    assert throttled.json()["details"]["retry_after"] > 0
    unknown = g.login("13000000000", "whatever1")
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"


def test_whoever_knows_a_username_cannot_lock_its_holder_out_from_elsewhere(gateway):
    g = gateway
    mobile, password = g.register_owner()
    for _ in range(LOGIN_MAX_FAILURES + 2):
        g.login(mobile, "Wrong-Passw0rd", address="203.0.113.7")
    assert g.login(mobile, password, address="203.0.113.7").status_code == 429
    assert g.login(mobile, password, address="198.51.100.20").status_code == 200


def test_guessing_one_password_from_many_addresses_is_stopped(gateway):
    g = gateway
    mobile, password = g.register_owner()
    assert g.login(mobile, password, address="198.51.100.77").status_code == 200  # where the owner signs in
    for n in range(LOGIN_MAX_FAILURES_PER_USERNAME):
        assert g.login(mobile, "Wrong-Passw0rd", address=f"2001:db8:{n}::1").status_code == 401
    assert g.login(mobile, password, address="2001:db8:ffff::1").status_code == 429
    # the guessing does not lock the owner out where they signed in before
    signed_in = g.login(mobile, password, address="198.51.100.77")
    assert signed_in.status_code == 200
    # under a new password, where the old one was used counts for nothing: whoever held it is not spared
    owner = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert g.http.post("/api/auth/password", headers=owner,
                       json={"old_password": password, "new_password": "Newer-Passw0rd"}).status_code == 204
    assert g.login(mobile, "Newer-Passw0rd", address="198.51.100.77").status_code == 429
    # one IPv6 subscriber (a /64) is one client, whatever address of it is used
    other, other_password = g.register_owner()
    for n in range(LOGIN_MAX_FAILURES):
        g.login(other, "Wrong-Passw0rd", address=f"2001:db8:77:1::{n + 1}")
    assert g.login(other, other_password, address="2001:db8:77:1::ffff").status_code == 429


def test_one_address_trying_many_usernames_is_stopped(gateway):
    g = gateway
    spraying = "203.0.113.99"
    refused = 0
    for n in range(LOGIN_MAX_FAILURES_PER_ADDRESS + 1):
        answer = g.login(f"1300000{n:04d}", "Spring2026!", address=spraying)
        refused += answer.status_code == 429
    assert refused == 1, refused
    mobile, password = g.register_owner()
    assert g.login(mobile, password, address=spraying).status_code == 429  # the address waits, for any account
    assert g.login(mobile, password).status_code == 200


def test_sms_codes_are_single_use_and_rate_limited(gateway):
    # their expiry is decided by the gateway's clock: tests/gateway/test_identity_unit.py moves that clock on
    g = gateway
    mobile = new_mobile()
    code = g.sms_code(mobile)
    first = g.http.post("/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd", "sms_code": code})
    assert first.status_code == 201
    other = new_mobile()
    code = g.sms_code(other)
    assert g.http.post("/api/auth/owners", json={"mobile": other, "password": "Owner-Passw0rd",
                                                 "sms_code": code}).status_code == 201
    reused = g.http.post("/api/auth/password-reset", json={"mobile": other, "sms_code": code,
                                                           "new_password": "Another-Passw0rd"})
    assert reused.status_code == 422 and reused.json()["code"] == "sms_code_invalid"

    limited = new_mobile()
    for _ in range(SMS_DAILY_LIMIT):
        assert g.http.post("/api/auth/sms-codes", json={"mobile": limited, "purpose": "register"}).status_code == 202
    refused = g.http.post("/api/auth/sms-codes", json={"mobile": limited, "purpose": "register"})
    assert refused.status_code == 429 and refused.json()["code"] == "sms_rate_limited"
    bad = g.http.post("/api/auth/sms-codes", json={"mobile": "12345", "purpose": "register"})
    assert bad.status_code == 422 and bad.json()["field"] == "mobile"


def test_staff_accounts_carry_department_and_district(gateway):
    g = gateway
    made = g.http.post("/api/auth/staff", headers=g.admin, json={
        "username": "insp-yuzhong", "password": "Inspector-Passw0rd", "role": "inspector", "department": "housing",
        "district": "04", "name": "李检查"})
    assert made.status_code == 201, made.text
    token = g.login("insp-yuzhong", "Inspector-Passw0rd").json()["access_token"]
    principal = g.platform.verifier.verify(token)
    assert principal.role is Role.INSPECTOR and principal.district == "04" and principal.department.value == "housing"

    district_admin = g.http.post("/api/auth/staff", headers=g.admin, json={
        "username": "admin-04", "password": "Admin04-Passw0rd", "role": "admin", "department": "ecology",
        "district": "04"})
    assert district_admin.status_code == 201
    admin_04 = g.bearer("admin-04", "Admin04-Passw0rd")
    elsewhere = g.http.post("/api/auth/staff", headers=admin_04, json={
        "username": "rev-05", "password": "Rev05-Passw0rd", "role": "reviewer", "department": "ecology",
        "district": "05"})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "outside_jurisdiction"
    taken = g.http.post("/api/auth/staff", headers=g.admin, json={
        "username": "insp-yuzhong", "password": "Inspector-Passw0rd", "role": "inspector", "department": "housing",
        "district": "04"})
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    inspector = {"Authorization": f"Bearer {token}"}
    assert g.http.post("/api/auth/staff", headers=inspector, json={
        "username": "x-1", "password": "Xxxxxxx-1", "role": "auditor"}).status_code == 403


def test_internal_endpoints_refuse_everyone_but_services(gateway):
    g = gateway
    mobile, password = g.register_owner()
    owner = g.bearer(mobile, password)
    message = {"channel": "sms", "to": mobile, "template": "verification_code", "params": {"code": "000000"}}
    for headers in ({}, owner, g.admin):
        sent = g.http.post("/api/notifications/messages", json=message, headers=headers)
        assert sent.status_code in (401, 403), sent.text
    site_admin = g.http.post("/api/auth/site-admins", headers=g.admin, json={
        "username": "S-FAKE-1", "mobile": mobile, "password": "Site-Passw0rd", "sms_code": "000000",
        "site_id": "S-FAKE-1", "district": "04"})
    assert site_admin.status_code == 403
    assert g.http.get("/api/notifications/outbox", headers=owner).status_code == 403


def test_the_entry_point_limits_size_allows_the_console_and_refuses_unknown_apis(gateway):
    g = gateway
    mobile, password = g.register_owner()
    owner = g.bearer(mobile, password)
    big = g.http.post("/api/registry/uploads", headers=owner, data={"kind": "photo_front"},
                      files={"file": ("big.png", PNG + b"\x00" * (11 * 1024 * 1024), "image/png")})
    assert big.status_code == 413 and big.json()["code"] == "request_too_large"
    unknown = g.http.get("/api/nothing/here", headers=owner)
    assert unknown.status_code == 404
    preflight = g.http.options("/api/registry/machines", headers={
        "Origin": "https://console.example.cn", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["access-control-allow-origin"] == "https://console.example.cn"
    foreign = g.http.options("/api/registry/machines", headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in foreign.headers
