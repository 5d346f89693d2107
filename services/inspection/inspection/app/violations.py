"""A violation's life after its check (rule D1): rectification by its owner or the site, review or retest by an
inspector, closure. Each command loads the check's stream (the write side) and appends with its expected version."""

from __future__ import annotations

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Forbidden, NotFound
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Role

from ..domain.check import Check, check_id_of
from ..domain.events import registry
from . import access
from .checks import smoke_result
from .requests import RectificationIn, ReviewIn, SmokeReading, WithdrawalIn
from .uploads import UploadKind, UploadStore


class ViolationCommands:
    def __init__(self, store: EventStore, uploads: UploadStore, *, smoke_class_in_zones: str | None = None):
        self.checks = AggregateRepository(store, registry, Check, "check")
        self.uploads = uploads
        self.smoke_class_in_zones = smoke_class_in_zones

    async def _load(self, violation_id: str) -> Check:
        check = await self.checks.load(check_id_of(violation_id))
        if check is None or violation_id not in check.violations:
            raise NotFound("违规记录不存在 (no such violation)", code="unknown_violation", field="violation_id")
        return check

    async def rectify(self, who: Principal, violation_id: str, body: RectificationIn) -> dict:
        check = await self._load(violation_id)
        found = check.violation(violation_id)
        # rule D1: the owner (or the site it was found on) rectifies; nobody else's rectification counts
        access.require_rectifier(who, owner_account_id=found.addressee.owner_account_id, site_code=found.site_code)
        await self.uploads.check(who.account_id, UploadKind.RECTIFICATION_EVIDENCE, body.evidence, "evidence")
        check.submit_rectification(violation_id, measure=body.measure.value, note=body.note, evidence=body.evidence,
                                   by_account_id=who.account_id, by_role=who.role.value)
        await self.checks.save(check, actor=who.as_actor())
        checked = check.checked
        await self.uploads.attach(body.evidence, {"site_code": checked.site_code, "district": checked.district,
                                                  "department": checked.department,
                                                  "owner_account_id": found.addressee.owner_account_id})
        return view(check, violation_id)

    def _require_inspector(self, who: Principal, check: Check) -> None:
        if who.role is not Role.INSPECTOR:
            raise Forbidden("仅执法人员可复查 (inspectors only)", code="role_not_allowed")
        who.require_district(check.checked.district)

    async def review(self, who: Principal, violation_id: str, body: ReviewIn) -> dict:
        check = await self._load(violation_id)
        self._require_inspector(who, check)
        check.review(violation_id, accepted=body.accepted, reason=body.reason)
        await self.checks.save(check, actor=who.as_actor())
        return view(check, violation_id)

    async def withdraw(self, who: Principal, violation_id: str, body: WithdrawalIn) -> dict:
        check = await self._load(violation_id)
        self._require_inspector(who, check)
        check.withdraw(violation_id, body.reason)
        await self.checks.save(check, actor=who.as_actor())
        return view(check, violation_id)

    async def retest(self, who: Principal, violation_id: str, reading: SmokeReading) -> dict:
        check = await self._load(violation_id)
        self._require_inspector(who, check)
        machine = check.checked.machine
        stricter = self.smoke_class_in_zones if check.checked.in_zone else None
        result = smoke_result(reading, stage=machine.emission_stage,
                              rated_power_kw=machine.rated_power_kw or (check.checked.smoke.rated_power_kw
                                                                        if check.checked.smoke else None),
                              stricter=stricter)
        check.retest(violation_id, result)
        await self.checks.save(check, actor=who.as_actor())
        return {**view(check, violation_id), "smoke": result.model_dump(mode="json")}


def view(check: Check, violation_id: str) -> dict:
    found = check.violation(violation_id)
    return {"violation_id": violation_id, "check_id": check.id, "kind": found.kind.value, "status": found.status,
            "overdue": found.overdue, "due_at": found.due_at.isoformat(), "stream_version": check.version}
