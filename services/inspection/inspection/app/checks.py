"""The inspector's check of one machine at a site (rule D4), its smoke test (rule D1) and the violations it opens:
one commit on the check's stream, after the write-side indexes the scheduler works from."""

from __future__ import annotations

from datetime import timedelta

import ulid
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.auth import Principal
from nrmm_kernel.claims import claim
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.idempotency import derived_id

from ..domain import smoke as gb36886
from ..domain.check import Check, violation_id
from ..domain.events import (
    Addressee,
    Company,
    Discrepancy,
    MachineChecked,
    MachineRef,
    Operator,
    SmokeResult,
    ViolationOpened,
    registry,
)
from ..domain.rules import LEGAL_BASIS, PlateState, ViolationKind, discrepancies, serial_key
from . import access
from .machines import Facts, RegistryWord
from .requests import CheckIn, SmokeReading
from .uploads import UploadKind, UploadStore

DEADLINES = "deadlines"  # write side: one document per (violation, deadline), found by due day (the scheduler's)
UNCODED = "uncoded_machines"  # write side: open uncoded violations by brand + factory serial (the linker's)
HIGH_EMISSION_STAGES = frozenset({"1", "X"})  # rule E4 default: China I and earlier, and undetermined


def smoke_result(reading: SmokeReading, *, stage: str | None, rated_power_kw: float | None,
                 stricter: str | None) -> SmokeResult:
    """rule D1: the reading judged against GB 36886-2018's limits table."""
    power = reading.rated_power_kw or rated_power_kw
    if power is None:
        raise ValidationFailed("须填写额定功率 (rated power unknown to the registry)", code="rated_power_required",
                               field="smoke.rated_power_kw")
    try:
        verdict = gb36886.judge(stage=stage or "X", rated_power_kw=power, k=reading.k, ringelmann=reading.ringelmann,
                                stricter=stricter)
    except gb36886.NoExhaust as exc:
        raise ValidationFailed(str(exc), code="no_exhaust", field="smoke") from None
    return SmokeResult(rated_power_kw=power, **{k: v for k, v in verdict.as_dict().items() if k != "rated_power_kw"})


class CheckCommands:
    def __init__(self, db: AsyncDatabase, store: EventStore, uploads: UploadStore, *, deadline_days: dict,
                 smoke_class_in_zones: str | None = None, clock=utcnow, registry_word: RegistryWord | None = None):
        self.db = db
        self.facts = Facts(db, registry_word)
        self.uploads = uploads
        self.checks = AggregateRepository(store, registry, Check, "check")
        self.deadline_days = deadline_days
        self.smoke_class_in_zones = smoke_class_in_zones
        self.clock = clock

    async def record_check(self, who: Principal, body: CheckIn, idempotency_key: str | None = None) -> dict:
        site = await self.facts.site(body.site_code)
        access.require_inspector_at(who, site)  # rule D4: inspectors act in their district
        check_id = derived_id("check", who.account_id, idempotency_key).hex.upper() if idempotency_key \
            else str(ulid.ULID())
        existing = await self.checks.load(check_id)
        if existing is not None:  # the same request sent again after its answer was lost
            return {**answer(existing), "replayed": True}
        await self.uploads.check(who.account_id, UploadKind.EVIDENCE_PHOTO, body.photos, "photos")
        now = self.clock()
        machine, operator, stay, found = await self._machine(body, site)
        in_zone = body.in_restricted_zone or bool(stay and stay.get("zones"))
        smoke = None
        if body.smoke is not None:
            stricter = self.smoke_class_in_zones if in_zone else None
            smoke = smoke_result(body.smoke, stage=machine.emission_stage, rated_power_kw=machine.rated_power_kw,
                                 stricter=stricter)
        kinds = self._findings(body, machine, stay, found, smoke, in_zone)
        addressee = Addressee(owner_account_id=machine.owner_account_id, owner_name=(found or {}).get("owner_name"),
                              operator=operator, company=Company(**site["company"]) if site.get("company") else None)
        ids = [violation_id(check_id, kind) for kind, _ in kinds]
        checked = MachineChecked(
            check_id=check_id, site_code=site["site_code"], district=site["district"],
            department=site.get("department"), machine=machine, coded=body.uncoded is None, operator=operator,
            plate=body.plate.value if body.plate else None, card_carried=body.card_carried,
            discrepancies=[Discrepancy(**d) for d in (found or {}).get("discrepancies", [])],
            entry_registered=stay is not None, stay_id=(stay or {}).get("stay_id"), photos=body.photos, smoke=smoke,
            in_zone=in_zone, violation_ids=ids, checked_on=today_in_chongqing(now))
        opened = []
        for (kind, detail), vid in zip(kinds, ids, strict=True):
            due_at = now + timedelta(days=self.deadline_days[kind])
            opened.append(ViolationOpened(
                violation_id=vid, check_id=check_id, kind=kind.value, legal_basis=LEGAL_BASIS[kind], detail=detail,
                site_code=site["site_code"], district=site["district"], department=site.get("department"),
                machine=machine, addressee=addressee, due_at=due_at, due_on=today_in_chongqing(due_at)))
        check = Check(check_id)
        check.check(checked, opened)
        await self._index(check_id, opened, machine)
        await self.checks.save(check, actor=who.as_actor(), subject=site["site_code"])
        record = {**access.site_record(site), "owner_account_id": machine.owner_account_id}
        await self.uploads.attach(body.photos, record)
        return answer(check)

    async def _machine(self, body: CheckIn, site: dict):
        if body.uncoded is not None:
            u = body.uncoded
            operator = Operator(**u.operator.model_dump())
            machine = MachineRef(category=u.category, brand=u.brand, model=u.model, factory_serial=u.factory_serial,
                                 emission_stage=u.emission_stage, serial_key=serial_key(u.brand, u.factory_serial),
                                 rated_power_kw=body.smoke.rated_power_kw if body.smoke else None)
            return machine, operator, None, None
        scanned = await self.facts.scan(body.qr, body.code)
        record, registered = scanned.record or {}, scanned.registered
        machine = MachineRef(
            code=scanned.code.text, machine_key=scanned.code.machine_key, other_province=scanned.record is None,
            registry_machine_id=record.get("registry_machine_id"), owner_account_id=record.get("owner_account_id"),
            category=registered.get("category"), brand=registered.get("brand"), model=registered.get("model"),
            factory_serial=registered.get("factory_serial"), emission_stage=scanned.stage,
            rated_power_kw=registered.get("rated_power_kw"),
            serial_key=serial_key(registered["brand"], registered["factory_serial"]) if registered else None)
        stay = await self.facts.open_stay(site["site_code"], scanned.code.machine_key)
        observed = body.observed.model_dump(exclude_none=True) if body.observed else {}
        found = {"owner_name": (record.get("registrant") or {}).get("name"),
                 "discrepancies": discrepancies({**registered, "emission_stage": scanned.stage}, observed)
                 if registered else []}
        return machine, None, stay, found

    def _findings(self, body: CheckIn, machine: MachineRef, stay, found, smoke, in_zone) -> list:
        kinds: list[tuple[ViolationKind, str]] = []
        if body.uncoded is not None:
            kinds.append((ViolationKind.UNCODED, "机械未进行环保编码登记"))
        else:
            if body.plate is PlateState.MISSING:
                kinds.append((ViolationKind.PLATE_MISSING, "未见编码标牌"))
            if body.card_carried is False:
                kinds.append((ViolationKind.CARD_MISSING, "未随车携带信息采集卡"))
            if found and found["discrepancies"]:
                named = ", ".join(d["field"] for d in found["discrepancies"])
                kinds.append((ViolationKind.REGISTRATION_MISMATCH, f"登记信息与实际不符: {named}"))
            if stay is None:
                kinds.append((ViolationKind.ENTRY_NOT_REGISTERED, "本场地无该机械的进场登记"))
        if smoke is not None and smoke.exceeded:
            kinds.append((ViolationKind.SMOKE_EXCEEDANCE,
                          f"排气烟度超标 ({'、'.join(smoke.exceeded_by)}; {smoke.limit_class} 类 {smoke.band})"))
        if in_zone and (machine.emission_stage or "X") in HIGH_EMISSION_STAGES:
            kinds.append((ViolationKind.HIGH_EMISSION_IN_ZONE, "高排放机械在禁用区内使用"))
        return kinds

    async def _index(self, check_id: str, opened: list[ViolationOpened], machine: MachineRef) -> None:
        """Write-side indexes, before the commit: a deadline or an uncoded machine without its violation (a failed
        append) is found void and dropped by the scheduler; a violation without its index never happens."""
        for event in opened:
            await claim(self.db[DEADLINES], {  # once per violation and deadline (a retried check finds it made)
                "_id": f"{event.violation_id}@{event.due_at.isoformat()}", "violation_id": event.violation_id,
                "check_id": check_id, "due_at": event.due_at, "due_day": event.due_on.isoformat(),
                "state": "pending"})
            if event.kind == ViolationKind.UNCODED.value:
                await self.db[UNCODED].update_one(
                    {"_id": event.violation_id},
                    {"$setOnInsert": {"check_id": check_id, "serial_key": machine.serial_key, "state": "open",
                                      "at": utcnow()}}, upsert=True)


def answer(check: Check) -> dict:
    checked = check.checked
    body = checked.model_dump(mode="json")
    body["violations"] = [{"violation_id": v.id, "kind": v.kind.value, "due_at": v.due_at.isoformat(),
                           "status": v.status} for v in check.violations.values()]
    body["stream_version"] = check.version
    return body
