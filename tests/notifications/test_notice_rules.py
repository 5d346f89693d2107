"""Pure: templates as data, and the notices and reminders the registry's events call for (no infrastructure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.domain.templates import MissingParameter, template, templates
from notifications.projections.registry import RegistryNotices
from nrmm_kernel.clock import SHANGHAI
from registry import contracts as registry


def test_every_template_renders_and_names_what_its_channels_need():
    for tpl in templates().values():
        text = tpl.render({name: "x" for name in tpl.parameters})
        assert "{" not in text and tpl.title and tpl.sms_template_code.startswith("SMS_")
        assert set(tpl.wechat_fields.values()) <= tpl.parameters | {"brand", "model", "code", "detail"}
    with pytest.raises(MissingParameter):
        template("code_issued").render({"code": "4-N01A7K2P"})


def wrap(event, version: int = 5, at: datetime = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)):
    return registry.events.wrap(event, stream_id="machine-m1", stream_version=version, time=at)


def test_an_issued_code_tells_the_owner_as_of_that_version():
    doc = RegistryNotices().evolve(None, wrap(registry.CodeIssued(
        code="4-N04A7K2P", reviewer_account_id="r", issued_on="2026-11-30")))
    [notice] = doc["notices"]
    assert notice["template"] == "code_issued"  # rule C4
    assert notice["to"] == {"machine_owner": "machine-m1", "as_of": 5}
    assert notice["params"] == {"code": "4-N04A7K2P", "district": "渝中区"} and doc["done"] is False


def test_a_reissued_plate_is_reminded_of_ten_calendar_days_later_in_chongqing():
    # 20:00 UTC on 30 November is 1 December in Chongqing: ten days on is 11 December, 09:00 there (rule C8)
    doc = RegistryNotices().evolve(None, wrap(registry.PlateReissued(reissue_count=2, staff_account_id="s")))
    [reminder] = doc["reminders"]
    assert reminder["key"] == "plate-uncollected:machine-m1:2"
    assert reminder["due_at"] == datetime(2026, 12, 11, 9, 0, tzinfo=SHANGHAI)
    assert reminder["condition"] == {"machine_in_force": "machine-m1"}
