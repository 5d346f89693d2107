"""The pure rules of department feeds: scoping, masking, cursors, webhook targets, and signatures the
`standardwebhooks` package's verifier accepts (during a rotation, with either secret)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from notifications.domain.feeds import (
    CursorError,
    Route,
    Scope,
    SitePlace,
    event_types,
    masked,
    parse_cursor,
    receives,
)
from notifications.domain.webhooks import TargetRefused, address_problem, check_url, new_secret, signed_headers

ENTERED = "cn.cq.nrmm.sites.MachineEntered"
HOUSING_05 = Scope("housing", "05", frozenset({ENTERED}))
SITE_05_HOUSING = Route(frozenset({"05"}), (SitePlace("S1", "05", "housing"),))


def test_every_event_type_of_the_three_services_can_be_named():
    names = event_types()
    assert ENTERED in names and "cn.cq.nrmm.registry.CodeIssued" in names
    assert "cn.cq.nrmm.inspection.ViolationOpened" in names


@pytest.mark.parametrize(("scope", "route", "expected"), [
    (HOUSING_05, SITE_05_HOUSING, True),
    (HOUSING_05, Route(frozenset({"05"}), (SitePlace("S2", "05", "water"),)), False),  # another department's site
    (HOUSING_05, Route(frozenset({"04"}), (SitePlace("S3", "04", "housing"),)), False),  # another district's
    (HOUSING_05, Route(frozenset({"05"})), False),  # of the district, but of no site (a machine off every site)
    (Scope("housing", None, frozenset({ENTERED})), Route(frozenset({"04"}), (SitePlace("S3", "04", "housing"),)),
     True),  # city level: every district
    (Scope("ecology", "05", frozenset({ENTERED})), Route(frozenset({"05"})), True),  # the bureau: its district
    (Scope("ecology", "05", frozenset({ENTERED})), Route(frozenset({"04"})), False),
    (Scope("ecology", None, frozenset({ENTERED})), Route(frozenset()), True),
    (Scope("housing", "05", frozenset({"cn.cq.nrmm.sites.MachineExited"})), SITE_05_HOUSING, False),  # not its type
])
def test_the_scoping_rule(scope, route, expected):
    assert receives(scope, ENTERED, route) is expected


def test_personal_data_is_masked_wherever_it_sits():
    data = {"registrant": {"name": "张三", "id_number": "500103198001011237", "mobile": "13812345678"},
            "operator": {"mobile": "13900001111"}, "list": [{"mobile": "13700002222"}], "code": "4-N05A7K2P"}
    out = masked(data)
    assert out["registrant"] == {"name": "张三", "id_number": "500103********1237", "mobile": "138****5678"}
    assert out["operator"]["mobile"] == "139****1111" and out["list"][0]["mobile"] == "137****2222"
    assert out["code"] == "4-N05A7K2P" and data["registrant"]["mobile"] == "13812345678"


SUB, OTHER = "01JABCDEFGHJKMNPQRSTVWXYZ0", "01JZZZZZZZZZZZZZZZZZZZZZZ0"


def test_cursors():
    assert parse_cursor(None, SUB) == 0 and parse_cursor("", SUB) == 0 and parse_cursor(f"{SUB}.42", SUB) == 42
    for text, code in (("42", "invalid_cursor"), (f"{SUB}.-1", "invalid_cursor"), (f"{SUB}.x", "invalid_cursor"),
                       (f"{SUB}.1.2", "invalid_cursor"), (f"{OTHER}.3", "cursor_of_another_subscription")):
        with pytest.raises(CursorError) as refused:
            parse_cursor(text, SUB)
        assert refused.value.code == code


@pytest.mark.parametrize(("url", "loopback_http", "code"), [
    ("https://hooks.example.com/nrmm", False, None),
    ("http://127.0.0.1:9000/hook", True, None),
    ("http://localhost/hook", True, None),
    ("http://127.0.0.1:9000/hook", False, "https_required"),
    ("http://hooks.example.com/hook", True, "https_required"),  # http only to loopback
    ("ftp://hooks.example.com/x", True, "invalid_webhook_url"),
    ("file:///etc/passwd", True, "invalid_webhook_url"),
    ("https://user:pw@hooks.example.com/", False, "invalid_webhook_url"),
    ("https://hooks.example.com:99999/", False, "invalid_webhook_url"),
])
def test_webhook_urls(url, loopback_http, code):
    if code is None:
        check_url(url, allow_loopback_http=loopback_http)
    else:
        with pytest.raises(TargetRefused) as refused:
            check_url(url, allow_loopback_http=loopback_http)
        assert refused.value.code == code


@pytest.mark.parametrize(("address", "private", "loopback", "problem"), [
    ("93.184.216.34", False, False, None),
    ("10.0.0.5", False, False, "private_target"), ("10.0.0.5", True, False, None),
    ("192.168.1.1", False, True, "private_target"), ("169.254.169.254", False, False, "private_target"),
    ("127.0.0.1", False, False, "private_target"), ("127.0.0.1", False, True, None),
    ("::1", False, True, None), ("fd00::1", False, False, "private_target"),
    ("::ffff:10.0.0.1", False, False, "private_target"), ("0.0.0.0", True, True, "private_target"),
])
def test_private_targets(address, private, loopback, problem):
    assert address_problem(address, allow_private=private, allow_loopback=loopback) == problem


def test_signatures_verify_with_the_standard_webhooks_package_during_a_rotation():
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_") and old != new
    body = json.dumps({"specversion": "1.0", "id": "e1", "data": {"a": "工地"}}, ensure_ascii=False).encode()
    now = int(datetime.now(UTC).timestamp())
    headers = signed_headers([old, new], "SUB.1", now, body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(Exception):  # noqa: B017 - the package's own verification error
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(Exception):  # noqa: B017
        Webhook(old).verify(body + b" ", headers)
