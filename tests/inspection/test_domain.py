"""Pure domain rules of the inspection service, without infrastructure: the GB 36886-2018 limits table (rule D1),
discrepancies (rule D4), and a violation's life in the check aggregate."""

from datetime import UTC, date, datetime, timedelta

import pytest

from inspection.domain import smoke
from inspection.domain.check import Check, check_id_of, violation_id
from inspection.domain.events import (
    Addressee,
    MachineChecked,
    MachineRef,
    SmokeResult,
    ViolationOpened,
    ViolationOverdue,
)
from inspection.domain.rules import DEFAULT_DEADLINE_DAYS, LEGAL_BASIS, ViolationKind, deadline_days, discrepancies
from nrmm_kernel.errors import Conflict


@pytest.mark.parametrize("stage, power, k, limit_class, k_limit, exceeded", [
    ("1", 10, 2.9, "I", 3.00, False), ("2", 10, 3.01, "I", 3.00, True),
    ("2", 19, 2.0, "I", 2.00, False), ("1", 36.9, 2.1, "I", 2.00, True), ("2", 37, 1.62, "I", 1.61, True),
    ("3", 18, 2.0, "II", 2.00, False), ("4", 20, 1.01, "II", 1.00, True), ("4", 200, 0.80, "II", 0.80, False),
    ("X", 100, 1.61, "I", 1.61, False),  # a stage that cannot be determined: class I
])
def test_the_limits_table_by_class_and_power_band(stage, power, k, limit_class, k_limit, exceeded):
    verdict = smoke.judge(stage=stage, rated_power_kw=power, k=k, ringelmann=None)
    assert (verdict.limit_class, verdict.k_limit, verdict.exceeded) == (limit_class, k_limit, exceeded)
    assert verdict.source.startswith("GB 36886-2018")


def test_either_method_alone_finds_an_exceedance_and_a_stricter_class_applies_where_demanded():
    assert smoke.judge(stage="4", rated_power_kw=100, k=0.1, ringelmann=2).exceeded_by == ("ringelmann",)
    assert smoke.judge(stage="4", rated_power_kw=100, k=None, ringelmann=1).exceeded is False
    assert smoke.judge(stage="4", rated_power_kw=100, k=0.9, ringelmann=3).exceeded_by == ("k", "ringelmann")
    zone = smoke.judge(stage="4", rated_power_kw=100, k=0.6, ringelmann=None, stricter="III")
    assert zone.limit_class == "III" and zone.k_limit == 0.50 and zone.exceeded
    assert smoke.judge(stage="1", rated_power_kw=25, k=0.9, ringelmann=None, stricter="III").k_limit == 0.80
    # a demanded class applies only where it is stricter than the stage's own
    assert smoke.class_for("1", "II") == "II" and smoke.class_for("4", "I") == "II"
    with pytest.raises(smoke.NoExhaust):
        smoke.judge(stage="D", rated_power_kw=50, k=0.1, ringelmann=None)
    assert all(limit == 1 for _, limit in smoke.LIMITS.values())  # Ringelmann level 1 in every class


def test_discrepancies_are_named_field_by_field():
    registered = {"category": "excavator", "brand": "三一", "model": "SY215C", "factory_serial": "A-1",
                  "engine_serial": "E-1", "emission_stage": "3"}
    assert discrepancies(registered, {"brand": " 三一 ", "model": "sy215c"}) == []
    found = discrepancies(registered, {"model": "SY365H", "emission_stage": "2", "engine_serial": "E-1"})
    assert [d["field"] for d in found] == ["model", "emission_stage"] and found[0]["registered"] == "SY215C"


def test_every_kind_has_a_legal_basis_and_a_configurable_deadline():
    assert set(LEGAL_BASIS) == set(ViolationKind) == set(DEFAULT_DEADLINE_DAYS)
    assert deadline_days({"smoke_exceedance": 7})[ViolationKind.SMOKE_EXCEEDANCE] == 7
    with pytest.raises(ValueError):
        deadline_days({"no_such_kind": 1})


NOW = datetime(2026, 11, 30, 2, tzinfo=UTC)


def opened_check(kind=ViolationKind.SMOKE_EXCEEDANCE) -> tuple[Check, str]:
    check_id = "01CHECK"
    vid = violation_id(check_id, kind)
    machine = MachineRef(code="3-N04ABCDE", machine_key="N04ABCDE", owner_account_id="owner-1", emission_stage="3",
                         rated_power_kw=118)
    checked = MachineChecked(check_id=check_id, site_code="S-1", district="04", machine=machine, coded=True,
                             plate="affixed", card_carried=True, entry_registered=True, violation_ids=[vid],
                             checked_on=date(2026, 11, 30))
    check = Check.check(check_id, checked, [ViolationOpened(
        violation_id=vid, check_id=check_id, kind=kind.value, legal_basis=LEGAL_BASIS[kind], detail="x",
        site_code="S-1", district="04", machine=machine, addressee=Addressee(owner_account_id="owner-1"),
        due_at=NOW + timedelta(days=15), due_on=date(2026, 12, 15))])
    return check, vid


def result(k: float) -> SmokeResult:
    verdict = smoke.judge(stage="3", rated_power_kw=118, k=k, ringelmann=None)
    return SmokeResult(rated_power_kw=118, **verdict.as_dict())


def test_a_smoke_violation_closes_only_on_a_passing_retest_after_a_rectification():
    check, vid = opened_check()
    assert check_id_of(vid) == check.id
    with pytest.raises(Conflict, match="rectification"):
        check.retest(vid, result(0.5))
    check.submit_rectification(vid, measure="repair", note=None, evidence=[], by_account_id="owner-1", by_role="owner")
    with pytest.raises(Conflict):
        check.review(vid, accepted=True, reason=None)  # a smoke exceedance needs a retest, not a review
    check.retest(vid, result(0.9))
    assert check.violation(vid).status == "open"
    check.submit_rectification(vid, measure="repair", note=None, evidence=[], by_account_id="owner-1", by_role="owner")
    check.retest(vid, result(0.5))
    assert check.violation(vid).closed
    with pytest.raises(Conflict):
        check.submit_rectification(vid, measure="repair", note=None, evidence=[], by_account_id="o", by_role="owner")


def test_overdue_is_recorded_once_and_only_for_an_open_violation_past_its_deadline():
    check, vid = opened_check(ViolationKind.CARD_MISSING)
    assert not check.mark_overdue(vid, NOW + timedelta(days=14))
    assert check.mark_overdue(vid, NOW + timedelta(days=16))
    assert not check.mark_overdue(vid, NOW + timedelta(days=17))
    assert [type(e) for e in check.pending][-1] is ViolationOverdue
    closed, cid = opened_check(ViolationKind.CARD_MISSING)
    closed.submit_rectification(cid, measure="card_carried", note=None, evidence=[], by_account_id="owner-1",
                                by_role="owner")
    closed.review(cid, accepted=True, reason=None)
    assert not closed.mark_overdue(cid, NOW + timedelta(days=30))
