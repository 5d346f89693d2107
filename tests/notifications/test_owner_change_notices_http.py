"""Rule C6's consent flow, told to both owners: real gateway accounts (the new owner is named by their mobile),
registry and notifications processes (the development outbox channel) on the real broker and database."""

from __future__ import annotations

import pytest

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.notifications.helpers import inbox, poll
from tests.registry.conftest import with_accounts
from tests.registry.fixtures import registrant
from tests.registry.test_code_life_http import apply


@pytest.fixture(scope="module")
def svc(infra):
    yield from with_accounts(infra)


def templates(svc, account_id: str) -> list[str]:
    http, headers = svc.gateway, svc.token(Role.OWNER, account_id)  # the gateway forwards /api/notifications
    return [i["template"] for i in inbox(http, headers)["items"]]


def test_the_new_owner_is_asked_then_both_owners_hear_the_change(svc):
    seller_id, _, seller = svc.register_owner()
    buyer_id, buyer_mobile, buyer = svc.register_owner()
    submitted = apply(svc, seller, district="04")
    approved = svc.http.post(f"/api/registry/applications/{submitted['machine_id']}/approval",
                             headers=svc.reviewer(district="04"), json={})
    code = approved.json()["code"]
    asked = svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=seller,
                          json={"new_owner_mobile": buyer_mobile, "transferred_on": today_in_chongqing().isoformat()})
    assert asked.status_code == 200, asked.text
    # rule C6: the new owner is asked to accept before the record moves
    poll(lambda: templates(svc, buyer_id), lambda t: t == ["owner_change_requested"])
    accepted = svc.http.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=buyer,
                             json={"registrant": registrant("李四", mobile=buyer_mobile)})
    assert accepted.status_code == 200, accepted.text
    poll(lambda: templates(svc, buyer_id), lambda t: sorted(t) == ["owner_change_requested", "owner_changed_new"])
    poll(lambda: templates(svc, seller_id), lambda t: sorted(t) == ["code_issued", "owner_changed_previous"])
