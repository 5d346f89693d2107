"""Data sharing, pure (rules D5, N1): the rows market supervision and manufacturers send, validated one by one,
and the aggregates they fold into.

A special-equipment record (rule D5) is found again by its registration number and matched to the registry by
normalised brand + factory serial; a manufacturer's disclosure (rule N1) by normalised brand + model. The same
row sent again has the same digest and records nothing (idempotent re-import).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.aggregate import Aggregate, folds
from nrmm_kernel.codes import STAGES
from nrmm_kernel.reference import DISTRICTS, MACHINE_TYPES

from .rules import normalise, serial_key
from .sharing_events import (
    DisclosedFact,
    EquipmentFacts,
    FollowUpClosed,
    FollowUpOpened,
    ModelDisclosed,
    SpecialEquipmentMatched,
    SpecialEquipmentRecorded,
)

DISTRICT_BY_NAME = {name: code for code, name in DISTRICTS.items()}
KIND_BY_NAME = {"挖掘机": "excavator", "起重机": "crane", "推土机": "bulldozer", "装载机": "loader",
                "压路机": "road_roller", "摊铺机": "paver", "平地机": "grader", "桩工机械": "piling",
                "叉车": "forklift", "堆高机": "stacker", "牵引车": "tractor", "摆渡车": "shuttle",
                "场内车辆": "in_plant",
                "场（厂）内专用机动车辆": "in_plant", "其他": "other"}
STAGE_BY_NAME = {"国一": "1", "国1": "1", "国二": "2", "国2": "2", "国三": "3", "国3": "3", "国四": "4", "国4": "4",
                 "电动": "D", "新能源": "D", "不详": "X"}
# headers of the special-equipment platform's exports (Chinese) and of this API (English)
EQUIPMENT_HEADERS = {"登记证编号": "registration_number", "使用登记证编号": "registration_number",
                     "设备种类": "equipment_kind", "设备类别": "equipment_kind", "使用单位": "user_unit",
                     "品牌": "brand", "制造单位": "brand", "型号": "model", "设备型号": "model",
                     "出厂编号": "factory_serial", "产品编号": "factory_serial", "区县": "district",
                     "所在区县": "district"}
DISCLOSURE_HEADERS = {"生产企业": "manufacturer", "制造商": "manufacturer", "品牌": "brand", "机械型号": "model",
                      "型号": "model", "发动机型号": "engine_model", "排放阶段": "emission_stage",
                      "信息标签编号": "label_number", "环保信息标签编号": "label_number"}
TEST_FACT_PREFIXES = ("test_", "检测_")


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True,
                                         ensure_ascii=False).encode()).hexdigest()[:32]


class EquipmentRow(Row):
    """rule D5: one special-equipment record."""

    registration_number: str = Field(min_length=1, max_length=40)
    equipment_kind: str = Field(min_length=1, max_length=20)
    user_unit: str = Field(min_length=1, max_length=100)
    brand: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    factory_serial: str = Field(min_length=1, max_length=64)
    district: str = Field(min_length=1, max_length=10)

    @field_validator("registration_number")
    @classmethod
    def _number(cls, value: str) -> str:
        value = normalise(value)
        if not all(c.isalnum() or c in "-_/()（）" for c in value):
            raise PydanticCustomError("invalid_registration_number", "登记证编号只能包含字母、数字和 - _ / ( )")
        return value

    @field_validator("equipment_kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        kind = KIND_BY_NAME.get(value, value.lower())
        if kind not in MACHINE_TYPES:  # rule S1
            raise PydanticCustomError("unknown_equipment_kind", "设备种类不在非道路移动机械范围内 (rule S1)")
        return kind

    @field_validator("district")
    @classmethod
    def _district(cls, value: str) -> str:
        code = DISTRICT_BY_NAME.get(value, value.zfill(2) if value.isdigit() else value)
        if code not in DISTRICTS:
            raise PydanticCustomError("unknown_district", "区县不存在 (01-41 或区县名称)")
        return code

    @property
    def serial_key(self) -> str:
        return serial_key(self.brand, self.factory_serial)


class DisclosureRow(Row):
    """rule N1: a manufacturer's disclosure of one model."""

    manufacturer: str = Field(min_length=1, max_length=100)
    brand: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    engine_model: str = Field(min_length=1, max_length=100)
    emission_stage: str = Field(min_length=1, max_length=4)
    label_number: str = Field(min_length=1, max_length=64)
    test_facts: dict[str, str] = Field(default_factory=dict, max_length=30)

    @field_validator("emission_stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        stage = STAGE_BY_NAME.get(value, value.upper())
        if stage not in STAGES:
            raise PydanticCustomError("invalid_stage", "排放阶段须为 1、2、3、4、D 或 X (国一至国四)")
        return stage

    @field_validator("test_facts")
    @classmethod
    def _facts(cls, value: dict[str, str]) -> dict[str, str]:
        for name, fact in value.items():
            if not 1 <= len(name) <= 50 or len(str(fact)) > 200:
                raise PydanticCustomError("invalid_test_fact", "检测项名称 1-50 字, 值至多 200 字")
        return {str(k): str(v) for k, v in value.items()}

    @property
    def model_key(self) -> str:
        return model_key(self.brand, self.model)


def model_key(brand: str, model: str) -> str:
    """One model, whatever its spelling (rule N1): the disclosure an application's machine is compared with."""
    return f"{normalise(brand)}|{normalise(model)}"


class SpecialEquipment(Aggregate):
    """One special-equipment record and its follow-up task (rule D5)."""

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.digest: str | None = None
        self.serial_key: str | None = None
        self.matched_machine: str | None = None
        self.follow_up: str | None = None  # open | closed

    @folds(SpecialEquipmentRecorded)
    def on_SpecialEquipmentRecorded(self, e: SpecialEquipmentRecorded) -> None:
        self.digest, self.serial_key = e.digest, e.serial_key

    @folds(SpecialEquipmentMatched)
    def on_SpecialEquipmentMatched(self, e: SpecialEquipmentMatched) -> None:
        self.matched_machine = e.registry_machine_id

    @folds(FollowUpOpened)
    def on_FollowUpOpened(self, e: FollowUpOpened) -> None:
        self.follow_up = "open"

    @folds(FollowUpClosed)
    def on_FollowUpClosed(self, e: FollowUpClosed) -> None:
        self.follow_up = "closed"

    def receive(self, row: EquipmentRow, *, known: dict[str, Any] | None, source: str, today: date,
                now: datetime) -> bool:
        """The row as it arrived; ``known``: the registry's machine with this brand and serial (coded or applied
        for), if any. False: nothing changed."""
        digest = row.digest()
        if digest == self.digest:
            return False
        self.record(SpecialEquipmentRecorded(equipment=EquipmentFacts(**row.model_dump()),
                                                   serial_key=row.serial_key, digest=digest, source=source))
        if known is not None:
            if self.matched_machine != known["registry_machine_id"]:
                self.record(SpecialEquipmentMatched(registration_number=row.registration_number,
                                                          registry_machine_id=known["registry_machine_id"],
                                                          code=known.get("code")))
            self.close(known["registry_machine_id"], now)
        elif self.follow_up is None and self.matched_machine is None:
            self.record(FollowUpOpened(registration_number=row.registration_number, district=row.district,
                                             contact=row.user_unit, equipment_kind=row.equipment_kind,
                                             serial_key=row.serial_key, opened_on=today))
        return True

    def close(self, registry_machine_id: str, now: datetime) -> bool:
        """A code application for the machine appeared: its task closes (once)."""
        if self.follow_up != "open":
            return False
        self.record(FollowUpClosed(registration_number=self.id, reason="code_applied",
                                         registry_machine_id=registry_machine_id, closed_at=now))
        return True


class Disclosure(Aggregate):
    """A manufacturer's disclosure of one model (rule N1): disclosed again when it changes."""

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.digest: str | None = None

    @folds(ModelDisclosed)
    def on_ModelDisclosed(self, e: ModelDisclosed) -> None:
        self.digest = e.digest

    def disclose(self, row: DisclosureRow, *, source: str) -> bool:
        digest = row.digest()
        if digest == self.digest:
            return False
        facts = [DisclosedFact(name=k, value=v) for k, v in sorted(row.test_facts.items())]
        self.record(ModelDisclosed(model_key=row.model_key, digest=digest, source=source, test_facts=facts,
                                   **row.model_dump(exclude={"test_facts"})))
        return True
