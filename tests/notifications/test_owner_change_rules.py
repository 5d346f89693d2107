"""Pure: the owner-change consent flow's notices (rule C6)."""

from __future__ import annotations

from notifications.domain.templates import template
from notifications.projections.registry import OwnerChangeCancelled, OwnerChangeRequested, RegistryNotices
from registry import contracts as registry


def wrap(event, version: int):
    return registry.events.wrap(event, stream_id="machine-m1", stream_version=version)


def test_the_new_owner_is_asked_to_accept_and_both_hear_when_it_ends():
    asked = RegistryNotices().evolve(None, wrap(OwnerChangeRequested(
        new_owner_account_id="owner-b", transferred_on="2026-11-20", reported_on="2026-11-25", late=False,
        expires_on="2026-12-09"), 7))
    [notice] = asked["notices"]
    assert notice["to"] == {"account": "owner-b", "mobile": None} and notice["params"]["expires_on"] == "2026-12-09"
    assert "2026-12-09" in template("owner_change_requested").render({**notice["params"], "code": "4-N01A7K2P"})
    ended = RegistryNotices().evolve(None, wrap(OwnerChangeCancelled(new_owner_account_id="owner-b",
                                                                     reason="declined"), 8))
    assert [n["to"] for n in ended["notices"]] == [{"machine_owner": "machine-m1", "as_of": 8},
                                                   {"account": "owner-b", "mobile": None}]
    assert ended["notices"][0]["params"]["reason"] == "新所有者拒绝接收"
