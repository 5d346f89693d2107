"""Pure: the notices and reminders of the inspection service's violation events."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications.domain.templates import template
from notifications.projections.inspection import inspection_projections
from nrmm_kernel.clock import SHANGHAI

found = inspection_projections()


def events():
    from inspection import contracts as ev

    return ev


def opened_and_checked():
    ev = events()
    operator = ev.Operator(user_unit="某公司", contact_name="赵六", mobile="13900001111")
    machine = ev.MachineRef(brand="三一", model="SY75")
    checked = ev.MachineChecked(check_id="c1", site_code="S1", district="12", machine=machine, coded=False,
                                operator=operator, entry_registered=False, checked_on="2026-11-30")
    opened = ev.ViolationOpened(
        violation_id="c1-uncoded", check_id="c1", kind="uncoded", legal_basis="C1", detail="未申领环保编码",
        site_code="S1", district="12", machine=machine, addressee=ev.Addressee(operator=operator),
        due_at=datetime(2026, 12, 20, 1, 0, tzinfo=UTC), due_on="2026-12-20")
    return [ev.registry.wrap(e, stream_id="check-c1", stream_version=v) for v, e in ((1, checked), (2, opened))]


def test_a_violation_tells_the_operator_and_the_site_and_is_reminded_three_days_ahead():
    context, notices = found
    _, opened = opened_and_checked()
    doc = notices.evolve(None, opened)
    assert [n["to"] for n in doc["notices"]] == [{"mobile": "13900001111", "name": "赵六"}, {"site_admin": "S1"}]
    text = template("violation_opened").render(doc["notices"][0]["params"])
    assert "未申领环保编码" in text and "2026-12-20" in text
    assert {r["due_at"] for r in doc["reminders"]} == {datetime(2026, 12, 17, 1, 0, tzinfo=UTC)}
    assert context.evolve(None, opened)["open"] is True


def test_an_uncoded_machine_is_reminded_7_days_and_1_day_before_its_30_days():
    _, notices = found
    checked, _ = opened_and_checked()
    reminders = notices.evolve(None, checked)["reminders"]  # rule C2
    assert [r["due_at"] for r in reminders] == [datetime(2026, 12, 23, 9, 0, tzinfo=SHANGHAI),
                                                datetime(2026, 12, 29, 9, 0, tzinfo=SHANGHAI)]
    assert all(r["condition"] == {"check_uncoded": "c1"} for r in reminders)
