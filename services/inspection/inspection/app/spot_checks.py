"""Spot checks of new and sold machines (rule N2), recorded like inspections and judged against the model's
disclosure (rule N1), decided from the write side (the disclosure index the imports keep)."""

from __future__ import annotations

from typing import Annotated, Literal

import ulid
from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.aggregate import Aggregate, AggregateRepository, folds
from nrmm_kernel.auth import Principal
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import STAGES
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import NotFound
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.fields import DistrictCode, ShortText
from nrmm_kernel.idempotency import derived_id

from ..domain.events import MachineRef, registry
from ..domain.rules import normalise, serial_key
from ..domain.sharing_events import SpotCheckRecorded, SpotFinding
from ..domain.special_equipment import model_key
from .checks import smoke_result
from .requests import Body, Category, SmokeReading
from .sharing import SharingImports
from .sharing_access import require_spot_checker
from .uploads import UploadKind, UploadStore

Name = Field(min_length=1, max_length=100)
Participant = Annotated[str, StringConstraints(max_length=50)]


class SpotCheckIn(Body):
    district: DistrictCode
    place_kind: Literal["factory", "dealer", "site"]
    place_name: str = Name
    sale_state: Literal["new", "sold"]
    manufacturer: str = Name
    category: Category = Field(max_length=20)
    brand: str = Name
    model: str = Name
    factory_serial: str = Field(min_length=1, max_length=64)
    engine_model: str | None = Field(default=None, min_length=1, max_length=100)
    emission_stage: str | None = Field(default=None, max_length=2)
    label_number: str | None = Field(default=None, min_length=1, max_length=64)
    label_present: bool
    participants: list[Participant] = Field(default=[], max_length=10,
                                            description="market supervision's staff with them")
    photos: list[ShortText] = Field(default=[], max_length=20)
    smoke: SmokeReading | None = None

    @field_validator("emission_stage")
    @classmethod
    def _stage(cls, value):
        if value is not None and value.strip().upper() not in STAGES:
            raise PydanticCustomError("invalid_stage", "排放阶段须为 1、2、3、4、D 或 X")
        return value.strip().upper() if value else value

    @field_validator("participants")
    @classmethod
    def _participants(cls, value):
        if any(not 1 <= len(p) <= 50 for p in value):
            raise PydanticCustomError("invalid_participant", "参与人员姓名 1-50 字")
        return value


class SpotCheck(Aggregate):
    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.recorded: SpotCheckRecorded | None = None

    @folds(SpotCheckRecorded)
    def on_SpotCheckRecorded(self, e: SpotCheckRecorded) -> None:
        self.recorded = e


def findings(body: SpotCheckIn, disclosed: dict | None, smoke) -> list[SpotFinding]:
    """rule N1: what differs from the model's disclosure; rule N2: what the check found."""
    found = []
    if disclosed is None:
        found.append(SpotFinding(kind="not_disclosed", detail="该型号未公开排放信息 (rule N1)"))
    else:
        for field, kind, label in (("engine_model", "engine_model_differs", "发动机型号"),
                                   ("emission_stage", "stage_differs", "排放阶段"),
                                   ("label_number", "label_differs", "信息标签编号")):
            seen = getattr(body, field)
            if seen is not None and normalise(seen) != normalise(disclosed.get(field)):
                found.append(SpotFinding(kind=kind, detail=f"{label}与公开信息不符", disclosed=disclosed.get(field),
                                         observed=seen))
    if not body.label_present:
        found.append(SpotFinding(kind="label_missing", detail="未见环保信息标签"))
    if smoke is not None and smoke.exceeded:
        found.append(SpotFinding(kind="smoke_exceedance", detail=f"排气烟度超标 ({'、'.join(smoke.exceeded_by)})"))
    return found


class SpotChecks:
    def __init__(self, store: EventStore, imports: SharingImports, uploads: UploadStore, clock=utcnow):
        self.repo = AggregateRepository(store, registry, SpotCheck, "spot-check")
        self.imports = imports
        self.uploads = uploads
        self.clock = clock

    async def record(self, who: Principal, body: SpotCheckIn, idempotency_key: str | None = None) -> dict:
        require_spot_checker(who, body.district)
        spot_id = derived_id("spot-check", who.account_id, idempotency_key).hex.upper() if idempotency_key \
            else str(ulid.ULID())
        existing = await self.repo.load(spot_id)
        if existing is not None:
            return {**existing.recorded.model_dump(mode="json"), "replayed": True}
        await self.uploads.check(who.account_id, UploadKind.EVIDENCE_PHOTO, body.photos, "photos")
        disclosed = await self.imports.disclosed(model_key(body.brand, body.model))
        stage = body.emission_stage or (disclosed or {}).get("emission_stage")
        smoke = smoke_result(body.smoke, stage=stage, rated_power_kw=None, stricter=None) if body.smoke else None
        found = findings(body, disclosed, smoke)
        machine = MachineRef(category=body.category, brand=body.brand, model=body.model,
                             factory_serial=body.factory_serial, emission_stage=stage,
                             serial_key=serial_key(body.brand, body.factory_serial),
                             rated_power_kw=body.smoke.rated_power_kw if body.smoke else None)
        event = SpotCheckRecorded(
            spot_check_id=spot_id, district=body.district, place_kind=body.place_kind, place_name=body.place_name,
            sale_state=body.sale_state, manufacturer=body.manufacturer, machine=machine,
            engine_model=body.engine_model, label_number=body.label_number, label_present=body.label_present,
            participants=body.participants, photos=body.photos, smoke=smoke, findings=found, passed=not found,
            inspector_department=who.department.value if who.department else None,
            checked_on=today_in_chongqing(self.clock()))
        check = SpotCheck(spot_id)
        check.record(event)
        await self.repo.save(check, actor=who.as_actor(), subject=body.district)
        await self.uploads.attach(body.photos, {"site_code": None, "district": body.district, "department": None})
        return event.model_dump(mode="json")

    async def one(self, spot_id: str) -> SpotCheckRecorded:
        check = await self.repo.load(spot_id)
        if check is None:
            raise NotFound("抽查记录不存在 (no such spot check)", code="spot_check_not_found", field="spot_check_id")
        return check.recorded
