"""The gate (rules E2-E4, C3): scan, entry, batch entry and exit at a site.

Decided from the write side: the site's own stream, the machine's presence stream, and this service's copy of the
registry's codes; before a refusal that rests on the registry's facts (which a newer registry event could
overturn) the registry itself is asked, so a code issued a moment ago is never refused as unknown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import ulid

from nrmm_kernel.auth import Principal
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import EnvironmentalCode, MalformedCode, parse_code, parse_qr_payload
from nrmm_kernel.errors import AppError, ConcurrencyError, Conflict, ValidationFailed
from nrmm_kernel.idempotency import derived_id
from registry.client import RegistryFacts

from ..domain.events import EntryRefused, MachineEntered, MachineFacts
from ..domain.gate import (
    REGISTRY_REASONS,
    ActiveZone,
    GateRefusal,
    MachinePresence,
    SiteAtGate,
    Verdict,
    decide,
    machine_facts,
    registry_unreachable,
)
from ..domain.model import GateColour, SiteStatus, WorkingPeriod
from ..domain.zones import SiteLocation
from ..projections.codes import EXTERNAL_CODES, REGISTRY_CODES
from . import access
from .streams import WriteSide


class EntryRefusedError(AppError):
    """A refused entry: recorded as an event, answered 409 with the gate's verdict."""

    status = 409

    def __init__(self, result: dict):
        super().__init__(result["message"], code=result["reason"], field="code")
        self.result = result

    def to_dict(self) -> dict:
        # "code" is the error's stable code here; the machine's code moves to "machine_code"
        body = {k: v for k, v in self.result.items() if k != "code"}
        return {**body, "machine_code": self.result.get("code"), **super().to_dict()}


@dataclass(frozen=True)
class EntryReport:
    """What a site reports with an entry (rule E2); type and stage are confirmations of the prefilled values."""

    scanned: str
    working_period: WorkingPeriod
    reported_category: str | None = None
    reported_stage: str | None = None


def request_id(site_code: str, key: str | None, what: str) -> str:
    """The id of what one entry request records (its stay or its refusal): a fresh one, or, for a client's
    idempotency key, the same one every time the same request is sent again, so that a retry finds what its
    first sending recorded. ``what`` is what was sent (the code, or the malformed text): a key reused for another
    machine, or for a corrected scan (another stage included), names another request and records anew."""
    if key is None:
        return str(ulid.ULID())
    return derived_id("entry", site_code, key, what).hex


def entered_body(entry: MachineEntered, inside_elsewhere: list[str]) -> dict:
    """The answer an entry got, from its events: for a retried request."""
    return {"admitted": True, "colour": entry.colour, "reason": "admitted", "message": entry.reason,
            "code": entry.machine.code, "machine": entry.machine.model_dump(),
            "zones": [z.model_dump() for z in entry.zones], "inside_elsewhere": inside_elsewhere,
            "current_code": None, "stay_id": entry.stay_id, "replayed": True}


def refused_body(refused: EntryRefused) -> dict:
    return {"admitted": False, "colour": GateColour.RED.value, "reason": refused.reason, "message": refused.message,
            "code": refused.code, "machine": refused.machine.model_dump() if refused.machine else None,
            "zones": [z.model_dump() for z in refused.zones],
            "inside_elsewhere": [refused.other_site_code] if refused.other_site_code else [],
            "current_code": refused.current_code, "recorded": True, "replayed": True}


def verdict_body(verdict: Verdict, code: str | None, **extra) -> dict:
    return {
        "admitted": verdict.admitted, "colour": verdict.colour.value, "reason": verdict.reason,
        "message": verdict.message, "code": code,
        "machine": verdict.machine.model_dump() if verdict.machine else None,
        "zones": [z.model_dump() for z in verdict.zones], "inside_elsewhere": verdict.inside_elsewhere,
        "current_code": verdict.current_code, **extra,
    }



class GateCommands:
    def __init__(self, write: WriteSide, registry_facts: RegistryFacts, *, allow_two_sites: bool = False,
                 today=today_in_chongqing):
        self.db = write.db
        self.registry_facts = registry_facts
        self.allow_two_sites = allow_two_sites
        self.today = today
        self.presences, self.refusals = write.presences, write.refusals
        self.occupancy, self.zone_index = write.occupancy, write.zone_index
        self._site = write.site

    async def _gate_site(self, who: Principal, site_code: str) -> SiteAtGate:
        access.require_site_admin_of(who, site_code)
        # the site's own stream, not its projection: a site completed, suspended or moved a moment ago is judged
        # as it now is (a site's stream is a handful of events)
        site = await self._site(site_code)
        details = site.details
        coordinates = details.coordinates
        return SiteAtGate(site_code=site_code, district=details.district, department=details.department,
                          status=site.status,
                          location=SiteLocation(district=details.district, street=details.address.street,
                                                longitude=coordinates.longitude if coordinates else None,
                                                latitude=coordinates.latitude if coordinates else None))

    async def _given_or_gate_site(self, who: Principal, site_code: str, site: SiteAtGate | None) -> SiteAtGate:
        return site or await self._gate_site(who, site_code)

    async def _machine(self, code: EnvironmentalCode) -> tuple[MachineFacts | None, str | None]:
        """From this service's copy of the registry's codes."""
        if code.is_chongqing:
            return machine_facts(code, await self.db[REGISTRY_CODES].find_one({"codes": code.text}), [])
        declared = await self.db[EXTERNAL_CODES].find({"machine_key": code.machine_key}).to_list(20)
        return machine_facts(code, None, declared)

    async def _decide(self, site: SiteAtGate, code: EnvironmentalCode, facts, current, zones, inside,
                      asked: list[bool]) -> tuple[Verdict, MachineFacts | None, str | None]:
        """The verdict on the copy's facts; a refusal that rests on them is decided again on the registry's own
        answer (asked once per request: ``asked``)."""
        verdict = decide(site=site, code=code, facts=facts, current_code=current, zones=zones, inside=inside,
                         allow_two_sites=self.allow_two_sites)
        if verdict.admitted or verdict.reason not in REGISTRY_REASONS or asked[0]:
            return verdict, facts, current
        asked[0] = True
        fresh = await self.registry_facts.gate_facts(code.text)
        if fresh is None:
            return registry_unreachable(facts), facts, current
        facts, current = machine_facts(code, fresh["record"], fresh["declared"])
        verdict = decide(site=site, code=code, facts=facts, current_code=current, zones=zones, inside=inside,
                         allow_two_sites=self.allow_two_sites)
        return verdict, facts, current

    async def _zones(self, district: str) -> list[ActiveZone]:
        return await self.zone_index.active_in(district)  # the zones' own streams, not the zones read model

    async def _refuse(self, who: Principal, site: SiteAtGate, verdict: Verdict, scanned: str, code: str | None,
                      batch_id: str | None, refusal_id: str) -> bool:
        """Record the refusal; False when this request's refusal was recorded before (a retried request)."""
        refusal = GateRefusal.refuse(refusal_id, verdict=verdict, site_code=site.site_code, district=site.district,
                                     scanned=scanned, code=code, batch_id=batch_id)
        try:
            await self.refusals.save(refusal, actor=who.as_actor())
        except ConcurrencyError:
            return False
        return True

    @staticmethod
    def _parse(scanned: str) -> EnvironmentalCode:
        raw = parse_qr_payload(scanned)
        if raw is None:
            raise MalformedCode("payload", "无法识别的二维码 (not an NRMM QR code)")
        return parse_code(raw)

    async def preview(self, who: Principal, site_code: str, scanned: str) -> dict:
        """What the gate would decide now, with the registry's facts to prefill the entry form; records nothing."""
        site = await self._gate_site(who, site_code)
        try:
            code = self._parse(scanned)
        except MalformedCode as exc:
            raise ValidationFailed(exc.message, code="malformed_code", field="code",
                                   details={"reason": exc.reason, "colour": "red"}) from None
        (facts, current), loaded, zones = await asyncio.gather(
            self._machine(code), self.presences.load(code.machine_key), self._zones(site.district))
        presence = loaded or MachinePresence(code.machine_key)
        verdict, _, _ = await self._decide(site, code, facts, current, zones, list(presence.inside), [False])
        return verdict_body(verdict, code.text)

    async def enter(self, who: Principal, site_code: str, report: EntryReport, *, batch_id: str | None = None,
                    batch_size: int = 1, site: SiteAtGate | None = None, request_key: str | None = None) -> dict:
        """``request_key``: the client's idempotency key. Sent again (the answer was lost on a poor connection),
        the request gets the answer its first sending got, and nothing is recorded twice."""
        access.require_site_admin_of(who, site_code)  # before anything is read or recorded
        try:
            code = self._parse(report.scanned)
        except MalformedCode as exc:
            site = site or await self._gate_site(who, site_code)
            verdict = Verdict(admitted=False, colour=GateColour.RED, reason="malformed_code", message=exc.message)
            # sent again, the same text is refused the same way (422) and recorded once
            refusal_id = request_id(site_code, request_key, f"malformed:{report.scanned.strip()}")
            await self._refuse(who, site, verdict, report.scanned.strip(), None, batch_id, refusal_id)
            raise ValidationFailed(exc.message, code="malformed_code", field="code",
                                   details={"reason": exc.reason, "colour": "red", "recorded": True}) from None
        stay_id = refusal_id = request_id(site_code, request_key, f"code:{code.text}")
        if request_key is not None and (earlier := await self.refusals.load(refusal_id)) is not None:
            raise EntryRefusedError(refused_body(earlier.refused))
        # independent reads at once: a gate's answer waits for the slowest, not for their sum
        site, (facts, current), loaded = await asyncio.gather(
            self._given_or_gate_site(who, site_code, site), self._machine(code),
            self.presences.load(code.machine_key))
        zones = await self._zones(site.district)
        asked = [False]
        for attempt in range(5):
            if attempt:  # another gate moved this machine: decide again on what it did
                loaded = await self.presences.load(code.machine_key)
            presence = loaded or MachinePresence(code.machine_key)
            if stay_id in presence.entries:
                return entered_body(presence.entries[stay_id], presence.elsewhere.get(stay_id, []))
            verdict, facts, current = await self._decide(site, code, facts, current, zones, list(presence.inside),
                                                         asked)
            if verdict.admitted:
                verdict = await self._hold_place(site, code, verdict)
            if not verdict.admitted:
                if not await self._refuse(who, site, verdict, report.scanned.strip(), code.text, batch_id,
                                          refusal_id):
                    raise EntryRefusedError(refused_body((await self.refusals.load(refusal_id)).refused))
                raise EntryRefusedError(verdict_body(verdict, code.text, recorded=True))
            presence.enter(verdict=verdict, site=site, stay_id=stay_id, working_period=report.working_period,
                           today=self.today(), reported_category=report.reported_category,
                           reported_stage=report.reported_stage, batch_id=batch_id, batch_size=batch_size)
            try:
                await self.presences.save(presence, actor=who.as_actor())
            except ConcurrencyError:
                continue  # another gate moved this machine meanwhile: decide again on what it did
            return verdict_body(verdict, code.text, stay_id=stay_id)
        raise Conflict("该机械正在其他闸口登记，请重试 (busy)", code="concurrent_modification", field="code")

    async def _hold_place(self, site: SiteAtGate, code: EnvironmentalCode, verdict: Verdict) -> Verdict:
        """Mark the machine inside before its entry is appended, then look again at the site: a completion racing
        this entry sees the mark, or this entry sees the completion (occupancy.py)."""
        await self.occupancy.entering(site.site_code, code.machine_key, code.text)
        # the closing mark first, then the site: a completion that removed its mark has appended its event by then
        closing = await self.occupancy.closing_under_way(site.site_code)
        if not closing and (await self._site(site.site_code)).status is SiteStatus.IN_CONSTRUCTION:
            return verdict
        presence = await self.presences.load(code.machine_key)
        if presence is None or site.site_code not in presence.inside:
            await self.occupancy.left(site.site_code, code.machine_key)
        return Verdict(admitted=False, colour=GateColour.RED, reason="site_not_active",
                       message="场地未处于在建状态（或正在办理完工），不能登记进场", machine=verdict.machine)

    async def enter_batch(self, who: Principal, site_code: str, reports: list[EntryReport],
                          request_key: str | None = None) -> dict:
        site = await self._gate_site(who, site_code)
        batch_id = request_id(site_code, request_key, "batch") if request_key else str(ulid.ULID())
        results = []
        for n, report in enumerate(reports):
            try:
                results.append(await self.enter(who, site_code, report, batch_id=batch_id,
                                                batch_size=len(reports), site=site,
                                                request_key=f"{request_key}:{n}" if request_key else None))
            except EntryRefusedError as refused:
                results.append(refused.result)
            except ValidationFailed as bad:
                results.append({"admitted": False, "colour": "red", "reason": bad.code, "message": bad.message,
                                "code": None, "scanned": report.scanned})
        admitted = sum(1 for r in results if r["admitted"])
        return {"batch_id": batch_id, "admitted": admitted, "refused": len(results) - admitted, "results": results}

    async def exit(self, who: Principal, site_code: str, scanned: str) -> dict:
        access.require_site_admin_of(who, site_code)
        try:
            code = self._parse(scanned)
        except MalformedCode as exc:
            raise ValidationFailed(exc.message, code="malformed_code", field="code") from None
        for _ in range(5):
            presence = await self.presences.load(code.machine_key)
            if presence is None:
                raise Conflict("该机械不在本场地内，不能登记出场 (not inside this site)", code="not_inside",
                               field="code")
            presence.exit(site_code=site_code, code=code.text, today=self.today())
            event = presence.pending[-1]
            try:
                await self.presences.save(presence, actor=who.as_actor())
            except ConcurrencyError:
                continue
            await self.occupancy.left(site_code, code.machine_key)
            return {"code": code.text, "stay_id": event.stay_id, "exited_on": event.exited_on.isoformat()}
        raise Conflict("该机械正在其他闸口登记，请重试 (busy)", code="concurrent_modification", field="code")

