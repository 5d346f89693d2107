"""The gate: decide an entry from what the site knows at that moment (rules E2-E4, C3), pure.

Checks, in order: the site takes machines; the code is in force (a Chongqing code by the registry's codes,
another province's by its shape alone, rule C3); no restricted zone covering the site bans its stage (rule E4);
the machine is not inside this site already; and whether it is still inside another site (allowed or refused
by configuration, an anomaly either way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nrmm_kernel.aggregate import Aggregate, CreatedAggregate, folds
from nrmm_kernel.codes import STAGE_NAMES, EnvironmentalCode
from nrmm_kernel.errors import Conflict

from .events import EntryRefused, MachineEntered, MachineExited, MachineFacts, MachineOnTwoSites, ZoneUse
from .model import GateColour, SiteStatus, WorkingPeriod, colour_for
from .zones import SiteLocation, ZoneDefinition, ZoneKind, covers, is_high_emission

IN_FORCE = frozenset({"issued", "correction_review"})


@dataclass(frozen=True)
class SiteAtGate:
    site_code: str
    district: str
    department: str
    status: SiteStatus
    location: SiteLocation


@dataclass(frozen=True)
class ActiveZone:
    zone_id: str
    version: int
    definition: ZoneDefinition


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    colour: GateColour
    reason: str  # stable code
    message: str  # for the site guard
    machine: MachineFacts | None = None
    zones: list[ZoneUse] = field(default_factory=list)
    inside_elsewhere: list[str] = field(default_factory=list)
    current_code: str | None = None  # for a superseded code


def facts_from(code: EnvironmentalCode, registry_doc: dict[str, Any] | None,
               external_doc: dict[str, Any] | None) -> MachineFacts | None:
    """What the gate knows of the machine; None for a Chongqing code the registry never issued."""
    if not code.is_chongqing:
        return MachineFacts(code=code.text, province=code.province, stage=code.stage,
                            category=(external_doc or {}).get("category"))
    if registry_doc is None:
        return None
    return MachineFacts(
        code=code.text, province=code.province, stage=code.stage, category=registry_doc.get("category"),
        fuel=registry_doc.get("fuel"), brand=registry_doc.get("brand"), model=registry_doc.get("model"),
        registry_status=registry_doc.get("status"),
    )


def held_code(code: EnvironmentalCode, confirmed: list[str]) -> str:
    """The code another province's machine is held to (rule C3): the one the ecology bureau confirmed, on the
    papers, when the scanned code is not among them; else the scanned one. An owner's declaration holds nobody."""
    return max(confirmed) if confirmed and code.text not in confirmed else code.text


def machine_facts(code: EnvironmentalCode, record: dict[str, Any] | None,
                  declared: list[dict[str, Any]]) -> tuple[MachineFacts | None, str | None]:
    """(what the gate knows of the machine, the code it is held to) from the registry's facts: a Chongqing code's
    record (None: never issued), or another province's declarations of the machine under any stage (rule C3).
    The same whether the facts come from this service's copy or from the registry itself."""
    if code.is_chongqing:
        return facts_from(code, record, None), (record or {}).get("code")
    external = next((d for d in declared if d["code"] == code.text), None)
    return facts_from(code, None, external), held_code(code, [d["code"] for d in declared if d.get("confirmed")])


# refusals that rest on the registry's facts, which a newer registry event could overturn: before refusing on its
# copy, the gate asks the registry
REGISTRY_REASONS = frozenset({"unknown_code", "code_cancelled", "code_superseded", "code_not_in_force",
                              "stage_not_declared", "high_emission_in_zone"})


def registry_unreachable(facts: MachineFacts | None) -> Verdict:
    return _refused("registry_unreachable", "暂时无法向编码登记系统核实该编码，请稍后重试", machine=facts)


def _refused(reason: str, message: str, **kw: Any) -> Verdict:
    return Verdict(admitted=False, colour=GateColour.RED, reason=reason, message=message, **kw)


def decide(*, site: SiteAtGate, code: EnvironmentalCode, facts: MachineFacts | None, current_code: str | None,
           zones: list[ActiveZone], inside: list[str], allow_two_sites: bool) -> Verdict:
    """``current_code``: the code the registry now holds for this machine (another province's machine: the code it
    was declared under, when the scanned one differs only in its stage); ``inside``: sites it is inside."""
    if site.status is not SiteStatus.IN_CONSTRUCTION:
        return _refused("site_not_active", "场地未处于在建状态，不能登记进场", machine=facts)
    if facts is None:
        return _refused("unknown_code", "编码未在重庆登记，请机主先申请环保编码")
    if code.is_chongqing:
        if facts.registry_status == "cancelled":
            return _refused("code_cancelled", "编码已注销，禁止进场", machine=facts)
        if current_code is not None and current_code != code.text:
            return _refused("code_superseded", f"编码已更换为 {current_code}，请使用新标牌", machine=facts,
                            current_code=current_code)
        if facts.registry_status not in IN_FORCE:
            return _refused("code_not_in_force", "编码未生效，禁止进场", machine=facts)
    elif current_code is not None and current_code != code.text:
        # the stage is read off another province's code: one typed with another stage than declared is refused
        return _refused("stage_not_declared", f"该外省机械登记的编码为 {current_code}，排放阶段不符，禁止进场",
                        machine=facts, current_code=current_code)
    covering = [z for z in zones if covers(z.definition, site.location)]
    used = [ZoneUse(zone_id=z.zone_id, version=z.version, name=z.definition.name) for z in covering]
    banning = [z for z in covering if is_high_emission(facts.stage, z.definition)]
    if banning:  # rule E4
        names = "、".join(z.definition.name for z in banning)
        unplaced = site.location.longitude is None and any(z.definition.kind is ZoneKind.POLYGONS for z in banning)
        hint = "（场地未登记坐标，按位于区内禁用区处理，请补充坐标）" if unplaced else ""
        return _refused("high_emission_in_zone",
                        f"{STAGE_NAMES[facts.stage]}机械属高排放，场地位于禁用区（{names}），禁止进场{hint}",
                        machine=facts, zones=used)
    if site.site_code in inside:
        return _refused("already_inside", "该机械已在本场地内，请勿重复登记", machine=facts, zones=used)
    elsewhere = sorted(s for s in inside if s != site.site_code)
    if elsewhere and not allow_two_sites:
        return _refused("on_another_site", f"该机械仍在场地 {'、'.join(elsewhere)} 内，请先登记出场",
                        machine=facts, zones=used, inside_elsewhere=elsewhere)
    colour = colour_for(facts.stage, facts.fuel)
    origin = "" if code.is_chongqing else f"外省编码（{code.province}）· "
    return Verdict(admitted=True, colour=colour, reason="admitted",
                   message=f"{origin}{STAGE_NAMES[facts.stage]} · 准许进场", machine=facts, zones=used,
                   inside_elsewhere=elsewhere)


class MachinePresence(Aggregate):
    """Where one machine is (stream ``presence-<machine key>``: its code without the stage, so that a corrected
    stage (rule C7) finds the machine where it was): the sites it is inside, each with its stay."""

    def __init__(self, machine_key: str):
        super().__init__(machine_key)
        self.inside: dict[str, str] = {}  # site code -> stay id
        self.entries: dict[str, MachineEntered] = {}  # stay id -> its entry: a retried request finds its answer
        self.elsewhere: dict[str, list[str]] = {}  # stay id -> the sites it was still inside then (admitted anyway)

    def enter(self, *, verdict: Verdict, site: SiteAtGate, stay_id: str, working_period: WorkingPeriod,
              today: date, reported_category: str | None = None, reported_stage: str | None = None,
              batch_id: str | None = None, batch_size: int = 1) -> None:
        assert verdict.admitted and verdict.machine is not None
        facts = verdict.machine
        self.record(MachineEntered(
            stay_id=stay_id, site_code=site.site_code, district=site.district, department=site.department,
            machine=facts, other_province=facts.registry_status is None, colour=verdict.colour.value,
            reason=verdict.message, working_period=working_period, reported_category=reported_category,
            reported_stage=reported_stage,
            stage_mismatch=reported_stage is not None and reported_stage != facts.stage,
            batch_id=batch_id, batch_size=batch_size, zones=verdict.zones, entered_on=today,
        ))
        if verdict.inside_elsewhere:
            self.record(MachineOnTwoSites(code=facts.code, site_code=site.site_code, district=site.district,
                                          inside_site_codes=verdict.inside_elsewhere, admitted=True))

    def exit(self, *, site_code: str, code: str, today: date) -> None:
        stay_id = self.inside.get(site_code)
        if stay_id is None:
            raise Conflict("该机械不在本场地内，不能登记出场 (not inside this site)", code="not_inside", field="code")
        self.record(MachineExited(stay_id=stay_id, site_code=site_code, code=code, exited_on=today))

    @folds(MachineEntered)
    def on_MachineEntered(self, e: MachineEntered) -> None:
        self.inside[e.site_code] = e.stay_id
        self.entries[e.stay_id] = e

    @folds(MachineExited)
    def on_MachineExited(self, e: MachineExited) -> None:
        self.inside.pop(e.site_code, None)

    @folds(MachineOnTwoSites)
    def on_MachineOnTwoSites(self, e: MachineOnTwoSites) -> None:
        if e.admitted and e.site_code in self.inside:
            self.elsewhere[self.inside[e.site_code]] = e.inside_site_codes


class GateRefusal(CreatedAggregate[EntryRefused]):
    """One refused entry (stream ``refusal-<id>``), with its two-site anomaly when that was the reason."""

    creation = EntryRefused

    def __init__(self, refusal_id: str, created: EntryRefused) -> None:
        super().__init__(refusal_id, created)
        self.refused = created

    @classmethod
    def refuse(cls, refusal_id: str, *, verdict: Verdict, site_code: str, district: str, scanned: str,
               code: str | None, batch_id: str | None = None) -> GateRefusal:
        refusal = cls.create(refusal_id, EntryRefused(
            site_code=site_code, district=district, scanned=scanned[:100], code=code, reason=verdict.reason,
            message=verdict.message, machine=verdict.machine, zones=verdict.zones,
            other_site_code=verdict.inside_elsewhere[0] if verdict.inside_elsewhere else None, batch_id=batch_id,
            current_code=verdict.current_code,
        ))
        if verdict.inside_elsewhere:
            refusal.record(MachineOnTwoSites(code=code, site_code=site_code, district=district,
                                             inside_site_codes=verdict.inside_elsewhere, admitted=False))
        return refusal

    @folds(MachineOnTwoSites)
    def on_MachineOnTwoSites(self, e: MachineOnTwoSites) -> None:
        pass
