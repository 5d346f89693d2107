"""What callers send: bounded, validated request bodies (bad readings are a 422 naming the field)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.fields import CreditCode, MobileNumber, ShortText

from ..domain.rules import CATEGORIES, Measure, PlateState
from ..domain.smoke import K_MAX_READING, RINGELMANN_MAX


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmokeReading(Body):
    """rule D1: light absorption coefficient k (m⁻¹) and/or Ringelmann level; either alone decides."""

    k: float | None = Field(default=None, description=f"m⁻¹, 0-{K_MAX_READING}")
    ringelmann: int | None = Field(default=None, description=f"level 0-{RINGELMANN_MAX}")
    rated_power_kw: float | None = Field(default=None, gt=0, le=5000,
                                         description="needed where the registry does not know it")

    @field_validator("k")
    @classmethod
    def _k(cls, value):
        if value is not None and not 0 <= value <= K_MAX_READING:
            raise PydanticCustomError("k_out_of_range", f"光吸收系数须在 0-{K_MAX_READING} m⁻¹ 之间")
        return value

    @field_validator("ringelmann")
    @classmethod
    def _ringelmann(cls, value):
        if value is not None and not 0 <= value <= RINGELMANN_MAX:
            raise PydanticCustomError("ringelmann_out_of_range", f"林格曼黑度须为 0-{RINGELMANN_MAX} 级")
        return value

    @model_validator(mode="after")
    def _one(self):
        if self.k is None and self.ringelmann is None:
            raise PydanticCustomError("reading_required", "须填写光吸收系数或林格曼黑度")
        return self


def _category(value: str | None) -> str | None:
    if value is not None and value not in CATEGORIES:
        raise PydanticCustomError("unknown_category", f"机械类别须为 {', '.join(CATEGORIES)} 之一 (rule S1)")
    return value


Category = Annotated[str, AfterValidator(_category)]


class Observed(Body):
    """What the inspector reads off the machine, compared field by field with the registration (rule D4)."""

    category: Category | None = Field(default=None, max_length=50)
    brand: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    factory_serial: str | None = Field(default=None, max_length=64)
    engine_serial: str | None = Field(default=None, max_length=64)
    emission_stage: str | None = Field(default=None, max_length=1, pattern=r"^[1-4DX]$")


class OperatorIn(Body):
    user_unit: str = Field(min_length=1, max_length=100)
    contact_name: str = Field(min_length=1, max_length=50)
    mobile: MobileNumber


class UncodedMachine(Body):
    """A machine without a code: recorded by brand, model, factory serial and photos, and who operates it."""

    category: Category = Field(max_length=50)
    brand: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    factory_serial: str = Field(min_length=1, max_length=64)
    emission_stage: str | None = Field(default=None, max_length=1, pattern=r"^[1-4DX]$")
    operator: OperatorIn


class CheckIn(Body):
    site_code: str = Field(min_length=3, max_length=40)
    qr: str | None = Field(default=None, max_length=200, description="the card's QR payload, as scanned")
    code: str | None = Field(default=None, max_length=40, description="or the code, typed (any province)")
    uncoded: UncodedMachine | None = None
    plate: PlateState | None = None
    card_carried: bool | None = None
    observed: Observed | None = None
    photos: list[ShortText] = Field(default=[], max_length=12, description="evidence_photo upload ids")
    smoke: SmokeReading | None = None
    in_restricted_zone: bool = Field(default=False, description="the inspector finds the site in a restricted zone")

    @model_validator(mode="after")
    def _machine(self):
        named = [x for x in (self.qr, self.code, self.uncoded) if x is not None]
        if len(named) != 1:
            raise PydanticCustomError("machine_required", "须扫码、输入编码或登记无编码机械 (one of qr, code, uncoded)")
        if self.uncoded is None and (self.plate is None or self.card_carried is None):
            raise PydanticCustomError("plate_and_card_required", "须记录标牌与信息采集卡情况 (plate, card_carried)")
        if self.uncoded is not None and not self.photos:
            raise PydanticCustomError("photos_required", "无编码机械须拍照 (photos required)")
        return self


class ScanIn(Body):
    site_code: str = Field(min_length=3, max_length=40)
    qr: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _one(self):
        if (self.qr is None) == (self.code is None):
            raise PydanticCustomError("machine_required", "须扫码或输入编码 (qr or code)")
        return self


class RectificationIn(Body):
    measure: Measure
    note: str | None = Field(default=None, max_length=1000)
    evidence: list[ShortText] = Field(default=[], max_length=12, description="rectification_evidence upload ids")


class ReviewIn(Body):
    accepted: bool
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _reason(self):
        if not self.accepted and not self.reason:
            raise PydanticCustomError("reason_required", "驳回须说明理由 (reason required)")
        return self


class WithdrawalIn(Body):
    reason: str = Field(min_length=1, max_length=500)


class ManagementRulesIn(Body):
    title: str = Field(min_length=1, max_length=200)
    documents: list[ShortText] = Field(min_length=1, max_length=12, description="management_rules upload ids")


class ProjectOwnerIn(Body):
    """rule D2: the project owner (建设单位)."""

    name: str = Field(min_length=1, max_length=100)
    credit_code: CreditCode


class ContractIn(Body):
    kind: Literal["construction", "supervision"]
    counterparty: str = Field(min_length=1, max_length=100, description="the construction or supervision company")
    clauses: str = Field(min_length=1, max_length=4000, description="the NRMM-duty clauses, as written")
    documents: list[ShortText] = Field(min_length=1, max_length=12, description="contract upload ids")


class FuelReceiptIn(Body):
    """rule E6: a fuel purchase receipt."""

    supplier: str = Field(min_length=1, max_length=100)
    purchased_on: date
    quantity_litres: float = Field(gt=0, le=1_000_000)
    fuel_standard: str = Field(min_length=1, max_length=50, description="e.g. GB 19147 车用柴油(VI)")
    photo: str = Field(min_length=1, max_length=40, description="fuel_receipt_photo upload id")

    @field_validator("purchased_on")
    @classmethod
    def _past(cls, value: date) -> date:
        if value > today_in_chongqing():
            raise PydanticCustomError("date_in_future", "购油日期不能晚于今天")
        return value
