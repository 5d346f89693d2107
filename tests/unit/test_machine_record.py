"""The machine record aggregate, pure: rules C2 and C4-C8 without any infrastructure."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed
from registry.domain.events import (
    CodeIssued,
    CodeRejected,
    CodeRequested,
    MachineInfoCorrected,
    OwnerChangeCancelled,
    OwnerChanged,
    OwnerChangeRequested,
    PlateReissued,
)
from registry.domain.machine import MachineRecord, Status, machine_key, missing_uploads
from registry.domain.model import MachineInfo, Registrant
from tests.registry.fixtures import TODAY, machine, registrant, uploads


def applied(acquired_days_ago: int = 10, **machine_overrides) -> MachineRecord:
    return MachineRecord.apply_for(
        "m1", owner_account_id="owner-1", registrant=Registrant(**registrant()),
        machine=MachineInfo(**machine(acquired_days_ago=acquired_days_ago, **machine_overrides)),
        uploads=uploads(), today=TODAY)


def issued(**kw) -> MachineRecord:
    record = applied(**kw)
    record.approve(reviewer_account_id="rev-1", code=f"{record.machine.emission_stage}-N01ABCDE", today=TODAY)
    record.mark_saved()
    return record


def test_an_application_within_30_days_is_not_late_and_one_after_is_flagged_not_refused():
    on_time, late = applied(acquired_days_ago=30), applied(acquired_days_ago=31)  # rule C2
    assert isinstance(on_time.pending[0], CodeRequested) and on_time.pending[0].late is False
    assert late.pending[0].late is True and late.pending[0].days_after_acquisition == 31
    assert late.status is Status.SUBMITTED


def test_every_required_upload_kind_must_be_present():
    incomplete = uploads()
    del incomplete["photo_left"], incomplete["environmental_label"]
    assert missing_uploads(incomplete) == ["environmental_label", "photo_left"]
    with pytest.raises(ValidationFailed) as refused:  # nothing is created
        MachineRecord.apply_for("m1", owner_account_id="o", registrant=Registrant(**registrant()),
                                machine=MachineInfo(**machine()), uploads=incomplete, today=TODAY)
    assert refused.value.code == "missing_uploads" and refused.value.field == "uploads"


def test_registrant_numbers_are_checked_with_their_standards():
    bad_check = registrant()
    bad_check["id_number"] = bad_check["id_number"][:-1] + ("0" if bad_check["id_number"][-1] != "0" else "1")
    with pytest.raises(ValidationError) as refused:
        Registrant(**bad_check)
    assert refused.value.errors()[0]["type"] == "invalid_id_card"
    assert refused.value.errors()[0]["loc"] == ("id_number",)
    with pytest.raises(ValidationError):
        Registrant(**registrant(kind="company", id_number="91500000MA5U0000XX"))
    assert Registrant(**registrant(kind="company")).kind == "company"


def test_machine_district_and_stage_follow_the_code_tables():
    with pytest.raises(ValidationError) as refused:
        MachineInfo(**machine(district="42"))
    assert refused.value.errors()[0]["type"] == "unknown_district"
    with pytest.raises(ValidationError):
        MachineInfo(**machine(stage="5"))
    with pytest.raises(ValidationError):
        MachineInfo(**machine(fuel="electric", stage="4"))  # electric machines are stage D (rule C5)


def test_a_decision_stands_once():
    record = issued()
    assert record.status is Status.ISSUED and record.code == "4-N01ABCDE"
    with pytest.raises(Conflict) as refused:
        record.approve(reviewer_account_id="rev-2", code="4-N01ZZZZZ", today=TODAY)
    assert refused.value.code == "already_decided"
    with pytest.raises(Conflict):
        record.reject(reviewer_account_id="rev-2", reasons=["late"])


def test_rejected_application_is_amended_and_resubmitted_with_history_kept():
    record = applied()
    with pytest.raises(ValidationFailed):
        record.reject(reviewer_account_id="rev-1", reasons=["  "])
    record.reject(reviewer_account_id="rev-1", reasons=["铭牌照片不清晰"])
    assert record.status is Status.REJECTED
    record.amend(registrant=Registrant(**registrant()), machine=MachineInfo(**machine()), uploads=uploads("v2"),
                 today=TODAY)
    assert record.status is Status.SUBMITTED
    assert [type(e).__name__ for e in record.pending] == ["CodeRequested", "CodeRejected", "ApplicationAmended"]
    with pytest.raises(Conflict):
        record.amend(registrant=Registrant(**registrant()), machine=MachineInfo(**machine()), uploads=uploads(),
                     today=TODAY)


def test_approval_code_must_match_the_machine():
    record = applied()
    with pytest.raises(ValueError):
        record.approve(reviewer_account_id="r", code="3-N01ABCDE", today=TODAY)  # wrong stage
    with pytest.raises(ValueError):
        record.approve(reviewer_account_id="r", code="4-N02ABCDE", today=TODAY)  # wrong district


def test_owner_change_takes_effect_when_the_new_owner_accepts():  # rule C6
    record = issued()
    record.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY - timedelta(days=5), today=TODAY)
    assert isinstance(record.pending[-1], OwnerChangeRequested)
    assert record.pending[-1].expires_on == TODAY + timedelta(days=30)
    record.require_owner("owner-1")  # nothing moved yet
    with pytest.raises(Forbidden) as refused:
        record.accept_owner_change(account_id="owner-3", registrant=Registrant(**registrant("王五")), today=TODAY)
    assert refused.value.code == "not_new_owner"
    record.accept_owner_change(account_id="owner-2", registrant=Registrant(**registrant("李四")),
                               today=TODAY + timedelta(days=3))
    event = record.pending[-1]
    assert isinstance(event, OwnerChanged) and event.previous_owner_account_id == "owner-1"
    assert event.reported_on == TODAY and event.accepted_on == TODAY + timedelta(days=3) and not event.late
    record.require_owner("owner-2")
    with pytest.raises(Forbidden):
        record.require_owner("owner-1")  # the old owner loses access (rule C6)
    assert record.pending_owner_change is None


def test_the_late_flag_counts_from_the_transfer_to_the_old_owners_report_not_the_acceptance():  # rule C6
    record = issued()
    record.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY - timedelta(days=20), today=TODAY)
    assert record.pending[-1].late is False
    record.accept_owner_change(account_id="owner-2", registrant=Registrant(**registrant("李四")),
                               today=TODAY + timedelta(days=25))  # 45 days after the transfer
    assert record.pending[-1].late is False
    late = issued()
    late.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY - timedelta(days=31), today=TODAY)
    assert late.pending[-1].late is True


def test_a_pending_owner_change_is_withdrawn_declined_or_lapses_after_30_days():
    record = issued()
    record.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY, today=TODAY)
    with pytest.raises(Conflict) as refused:  # one at a time
        record.request_owner_change(new_owner_account_id="owner-3", transferred_on=TODAY, today=TODAY)
    assert refused.value.code == "owner_change_pending"
    with pytest.raises(Forbidden):
        record.withdraw_owner_change(account_id="owner-3", today=TODAY)
    record.withdraw_owner_change(account_id="owner-1", today=TODAY)
    assert isinstance(record.pending[-1], OwnerChangeCancelled) and record.pending[-1].reason == "withdrawn"
    record.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY, today=TODAY)
    record.withdraw_owner_change(account_id="owner-2", today=TODAY)
    assert record.pending[-1].reason == "declined"
    with pytest.raises(Conflict) as refused:
        record.accept_owner_change(account_id="owner-2", registrant=Registrant(**registrant()), today=TODAY)
    assert refused.value.code == "no_owner_change_pending"

    record.request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY, today=TODAY)
    later = TODAY + timedelta(days=31)
    with pytest.raises(Conflict) as refused:
        record.accept_owner_change(account_id="owner-2", registrant=Registrant(**registrant()), today=later)
    assert refused.value.code == "owner_change_expired"
    record.request_owner_change(new_owner_account_id="owner-3", transferred_on=TODAY, today=later)  # lapsed: replaced
    assert [type(e) for e in record.pending[-2:]] == [OwnerChangeCancelled, OwnerChangeRequested]
    assert record.pending[-2].reason == "expired" and record.pending_owner_change.new_owner_account_id == "owner-3"


def test_an_owner_change_needs_a_code_in_force_another_owner_and_no_future_date():
    with pytest.raises(Conflict):
        applied().request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY, today=TODAY)
    with pytest.raises(ValidationFailed) as refused:
        issued().request_owner_change(new_owner_account_id="owner-1", transferred_on=TODAY, today=TODAY)
    assert (refused.value.code, refused.value.field) == ("same_owner", "new_owner_mobile")
    with pytest.raises(ValidationFailed) as refused:
        issued().request_owner_change(new_owner_account_id="owner-2", transferred_on=TODAY + timedelta(days=1),
                                      today=TODAY)
    assert refused.value.code == "date_in_future"


def test_cancellation_ends_the_code():
    record = issued()
    record.cancel(reason="scrapped", occurred_on=TODAY - timedelta(days=5), today=TODAY)
    assert record.status is Status.CANCELLED and record.pending[-1].late is False
    with pytest.raises(Conflict) as refused:
        record.cancel(reason="scrapped", occurred_on=TODAY, today=TODAY)
    assert refused.value.code == "code_not_in_force"
    with pytest.raises(Conflict):
        record.request_plate_reissue(damaged_on=TODAY, reason="x", today=TODAY)


def test_plate_reissue_counts_and_flags_reports_after_10_days():
    record = issued()
    with pytest.raises(Conflict):
        record.reissue_plate(staff_account_id="rev-1")
    record.request_plate_reissue(damaged_on=TODAY - timedelta(days=11), reason="标牌破损", today=TODAY)  # rule C8
    assert record.pending[-1].late is True
    with pytest.raises(Conflict):
        record.request_plate_reissue(damaged_on=TODAY, reason="again", today=TODAY)
    record.reissue_plate(staff_account_id="rev-1")
    assert isinstance(record.pending[-1], PlateReissued) and record.reissue_count == 1


def test_a_stage_correction_is_re_reviewed_and_reissues_the_same_serial_with_the_new_stage():
    record = issued(stage="3")
    record.correct(machine=MachineInfo(**machine(stage="4")), today=TODAY)
    assert isinstance(record.pending[-1], MachineInfoCorrected) and record.pending[-1].requires_review
    assert record.status is Status.CORRECTION_REVIEW and record.machine.emission_stage == "3"
    assert record.code_for_approval() == "4-N01ABCDE"
    record.approve(reviewer_account_id="rev-1", code="4-N01ABCDE", today=TODAY)
    issued_event = record.pending[-1]
    assert isinstance(issued_event, CodeIssued) and issued_event.previous_code == "3-N01ABCDE"
    assert record.machine.emission_stage == "4" and record.code == "4-N01ABCDE"


def test_a_rejected_correction_keeps_the_code_in_force():
    record = issued(stage="3")
    record.correct(machine=MachineInfo(**machine(stage="2")), today=TODAY)
    record.reject(reviewer_account_id="rev-1", reasons=["无依据"])
    assert isinstance(record.pending[-1], CodeRejected) and record.pending[-1].of_correction
    assert record.status is Status.ISSUED and record.code == "3-N01ABCDE" and record.machine.emission_stage == "3"


def test_other_corrections_apply_at_once_but_never_the_district():
    record = issued()
    record.correct(machine=MachineInfo(**machine(pollution_control_device="DOC")), today=TODAY)
    assert record.pending[-1].changed_fields == ["pollution_control_device"] and not record.pending[-1].requires_review
    assert record.machine.pollution_control_device == "DOC" and record.status is Status.ISSUED
    with pytest.raises(ValidationFailed) as refused:
        record.correct(machine=MachineInfo(**machine(district="02")), today=TODAY)
    assert refused.value.code == "district_fixed"
    with pytest.raises(ValidationFailed):
        record.correct(machine=MachineInfo(**machine(pollution_control_device="DOC")), today=TODAY)  # no change


def test_a_corrected_brand_or_serial_keeps_the_old_identity_held():  # rule C1, issue 13 point 2
    record = issued()
    original = machine_key(record.machine)
    record.correct(machine=MachineInfo(**machine(brand="徐工")), today=TODAY)
    assert record.status is Status.CORRECTION_REVIEW  # brand, model and serial are re-reviewed
    record.approve(reviewer_account_id="rev-1", code=record.code_for_approval(), today=TODAY)
    assert machine_key(record.machine) != original
    assert record.identity_keys == {original, machine_key(record.machine)}  # the old machine stays this record's
    record.cancel(reason="scrapped", occurred_on=TODAY, today=TODAY)
    assert record.identity_keys == {machine_key(record.machine)}  # (a cancelled record's claims are released)


def test_correcting_what_identifies_the_machine_goes_to_a_reviewer_and_keeps_the_code():
    for change in ({"factory_serial": "SY215C-9999"}, {"brand": "徐工"}, {"model": "SY235C"},
                   {"rated_power_kw": 200.0}, {"category": "loader"},
                   {"engine": {"maker": "康明斯", "model": "QSB7", "serial": "E-000001"}}):
        record = issued()
        record.correct(machine=MachineInfo(**machine(**change)), today=TODAY)
        assert record.pending[-1].requires_review and record.status is Status.CORRECTION_REVIEW, change
        assert record.code_for_approval() == "4-N01ABCDE"  # the stage did not change: same code
        record.approve(reviewer_account_id="rev-1", code="4-N01ABCDE", today=TODAY)
        assert record.pending[-1].previous_code is None and record.status is Status.ISSUED


def test_dates_in_the_future_are_refused():
    future = machine(acquired_days_ago=-1)
    with pytest.raises(ValidationFailed) as refused:  # nothing is created
        MachineRecord.apply_for("m-future", owner_account_id="o", registrant=Registrant(**registrant()),
                                machine=MachineInfo(**future), uploads=uploads(), today=TODAY)
    assert refused.value.field == "machine.acquired_on" and refused.value.code == "date_in_future"


def test_an_amendment_is_late_only_if_the_first_submission_was():
    record = applied(acquired_days_ago=25)
    record.reject(reviewer_account_id="rev-1", reasons=["照片不清晰"])
    # fixed and resubmitted 10 days later: still counted from the first submission (rule C2)
    record.amend(registrant=Registrant(**registrant()), machine=MachineInfo(**machine(acquired_days_ago=25)),
                 uploads=uploads("v2"), today=TODAY + timedelta(days=10))
    amended = record.pending[-1]
    assert amended.late is False and amended.days_after_acquisition == 25
