"""Rule C6 over HTTP (issue 13 point 3): an owner change names the new owner by their registered mobile, which
the gateway resolves; it moves nothing until the new owner accepts; the owner withdraws, the new owner declines.
Real gateway, notifications and registry processes on the real broker and database."""

import pytest

from nrmm_kernel.reference import Role
from registry.domain.rules import today_in_chongqing
from tests.registry.conftest import with_accounts
from tests.registry.fixtures import registrant
from tests.registry.test_bad_input_http import counts
from tests.registry.test_code_life_http import apply


@pytest.fixture(scope="module")
def svc(infra):
    yield from with_accounts(infra)


def issued_code(svc, owner: dict) -> str:
    submitted = apply(svc, owner, district="04")
    approved = svc.http.post(f"/api/registry/applications/{submitted['machine_id']}/approval",
                             headers=svc.reviewer(district="04"), json={})
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]
    svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued")
    return code


def test_the_new_owner_accepts_and_only_then_the_machine_moves(svc):
    _, _, seller = svc.register_owner()
    buyer_id, buyer_mobile, buyer = svc.register_owner()
    _, _, stranger = svc.register_owner()
    code = issued_code(svc, seller)
    today = today_in_chongqing().isoformat()

    asked = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller,
                          json={"new_owner_mobile": buyer_mobile, "transferred_on": today})
    assert asked.status_code == 200, asked.text
    pending = asked.json()["owner_change"]
    assert pending["new_owner_account_id"] == buyer_id and pending["late"] is False
    assert asked.json()["owner_account_id"] != buyer_id  # nothing moved yet
    assert svc.http.get(f"/api/registry/machines/{code}", headers=buyer).status_code == 403

    offered = svc.eventually("/api/registry/owner-changes", buyer, lambda d: d["incoming"]).json()["incoming"]
    assert offered[0]["code"] == code and offered[0]["machine"]["district"] == "04"
    assert "registrant" not in offered[0]  # nothing of the present owner
    assert svc.http.get("/api/registry/owner-changes", headers=stranger).json()["incoming"] == []

    intruder = svc.http.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=stranger,
                             json={"registrant": registrant("王五")})
    assert intruder.status_code == 403 and intruder.json()["code"] == "not_new_owner"

    accepted = svc.http.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=buyer,
                             json={"registrant": registrant("李四")})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["owner_account_id"] == buyer_id and accepted.json()["owner_change"] is None
    mine = svc.eventually(f"/api/registry/machines/{code}", buyer, lambda d: d["owner_account_id"] == buyer_id).json()
    assert mine["registrant"]["name"] == "李四"
    assert [h["event"] for h in mine["history"]][-2:] == ["OwnerChangeRequested", "OwnerChanged"]
    assert svc.http.get(f"/api/registry/machines/{code}", headers=seller).status_code == 403  # rule C6


def test_unknown_and_staff_accounts_are_no_new_owners_and_nothing_is_written(svc, infra):
    _, seller_mobile, seller = svc.register_owner()
    code = issued_code(svc, seller)
    today = today_in_chongqing().isoformat()
    before = counts(svc, infra)
    for mobile in ("13900000000", "13800138000"):  # nobody's
        refused = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller,
                                json={"new_owner_mobile": mobile, "transferred_on": today})
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["field"]) == ("new_owner_not_found", "new_owner_mobile")
    itself = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller,
                           json={"new_owner_mobile": seller_mobile, "transferred_on": today})
    assert itself.status_code == 422 and itself.json()["code"] == "same_owner"
    reviewer = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=svc.reviewer(district="04"),
                             json={"new_owner_mobile": seller_mobile, "transferred_on": today})
    assert reviewer.status_code == 403  # the owner reports a change; staff do not hand machines over
    assert counts(svc, infra) == before
    # the gateway answers the lookup to services only, and never with a staff account
    lookup = {"mobile": seller_mobile}
    for headers in ({}, seller, svc.admin(), svc.token(Role.REVIEWER, "r", "04")):
        assert svc.gateway.post("/api/auth/owner-lookup", json=lookup, headers=headers).status_code in (401, 403)
    service = svc.token(Role.SERVICE, "svc-test")
    assert svc.gateway.post("/api/auth/owner-lookup", json={"mobile": "13900000000"},
                            headers=service).json()["code"] == "owner_not_found"


def test_the_owner_withdraws_and_the_new_owner_declines(svc):
    _, _, seller = svc.register_owner()
    _, buyer_mobile, buyer = svc.register_owner()
    code = issued_code(svc, seller)
    change = {"new_owner_mobile": buyer_mobile, "transferred_on": today_in_chongqing().isoformat()}
    assert svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller, json=change).status_code == 200
    twice = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller, json=change)
    assert twice.status_code == 409 and twice.json()["code"] == "owner_change_pending"
    withdrawn = svc.http.post(f"/api/registry/machines/{code}/owner-change/cancellation", headers=seller)
    assert withdrawn.status_code == 200 and withdrawn.json()["owner_change"] is None
    late = svc.http.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=buyer,
                         json={"registrant": registrant("李四")})
    assert late.status_code == 409 and late.json()["code"] == "no_owner_change_pending"

    assert svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller, json=change).status_code == 200
    declined = svc.http.post(f"/api/registry/machines/{code}/owner-change/cancellation", headers=buyer)
    assert declined.status_code == 200, declined.text
    history = svc.eventually(f"/api/registry/machines/{code}", seller, lambda d: [
        h["event"] for h in d["history"]].count("OwnerChangeCancelled") == 2).json()["history"]
    assert [h.get("reason") for h in history if h["event"] == "OwnerChangeCancelled"] == ["withdrawn", "declined"]
