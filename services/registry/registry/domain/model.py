"""Value objects of an application: registrant, machine, uploads (rule C4)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.codes import STAGES
from nrmm_kernel.fields import DistrictCode, MobileNumber
from nrmm_kernel.identity import id_card_problem, normalize_id_card, normalize_uscc, uscc_problem
from nrmm_kernel.personal import ERASED, is_sealed
from nrmm_kernel.sealing import SEALABLE


class Category(StrEnum):
    """Machines in scope, rule S1."""

    EXCAVATOR = "excavator"  # 挖掘机
    CRANE = "crane"  # 起重机
    BULLDOZER = "bulldozer"  # 推土机
    LOADER = "loader"  # 装载机
    ROAD_ROLLER = "road_roller"  # 压路机
    PAVER = "paver"  # 摊铺机
    GRADER = "grader"  # 平地机
    PILING = "piling"  # 桩工机械
    FORKLIFT = "forklift"  # 叉车
    STACKER = "stacker"  # 堆高机
    TRACTOR = "tractor"  # 牵引车
    SHUTTLE = "shuttle"  # 摆渡车
    IN_PLANT = "in_plant"  # 场内车辆
    OTHER = "other"


CATEGORY_NAMES = {
    Category.EXCAVATOR: "挖掘机", Category.CRANE: "起重机", Category.BULLDOZER: "推土机",
    Category.LOADER: "装载机", Category.ROAD_ROLLER: "压路机", Category.PAVER: "摊铺机",
    Category.GRADER: "平地机", Category.PILING: "桩工机械", Category.FORKLIFT: "叉车",
    Category.STACKER: "堆高机", Category.TRACTOR: "牵引车", Category.SHUTTLE: "摆渡车",
    Category.IN_PLANT: "场内车辆", Category.OTHER: "其他",
}


class Fuel(StrEnum):
    DIESEL = "diesel"
    GASOLINE = "gasoline"
    GAS = "gas"
    ELECTRIC = "electric"
    HYBRID = "hybrid"


class RegistrantKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class AcquisitionKind(StrEnum):
    PURCHASE = "purchase"  # 购买
    TRANSFER_IN = "transfer_in"  # 转入


class UploadKind(StrEnum):
    """Documents and photos an application carries, rule C4."""

    IDENTITY_PROOF = "identity_proof"  # 所有者身份证明
    MACHINE_NAMEPLATE = "machine_nameplate"  # 机械铭牌
    ENGINE_NAMEPLATE = "engine_nameplate"  # 发动机铭牌
    ENVIRONMENTAL_LABEL = "environmental_label"  # 环保信息标签
    CONFORMITY_CERTIFICATE = "conformity_certificate"  # 合格证
    PHOTO_FRONT = "photo_front"
    PHOTO_BACK = "photo_back"
    PHOTO_LEFT = "photo_left"
    PHOTO_RIGHT = "photo_right"
    PHOTO_OTHER = "photo_other"


REQUIRED_UPLOADS = frozenset(UploadKind) - {UploadKind.PHOTO_OTHER}


class Registrant(BaseModel):
    """Personal data (#14): in events, the ID number, the mobile and a person's name are sealed under the owner
    account's key (registry/app/sealing.py); a sealed or erased value is taken as it is (SEALABLE)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RegistrantKind
    name: Annotated[str, Field(min_length=1, max_length=100), SEALABLE]
    # ID card number (person, GB 11643) or unified social credit code (company, GB 32100)
    id_number: Annotated[str, Field(min_length=1, max_length=32), SEALABLE]
    mobile: Annotated[MobileNumber, SEALABLE]

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        if is_sealed(value) or value == ERASED:
            return value
        # rule C4: the registrant is a real person or company
        if info.data.get("kind") is RegistrantKind.COMPANY:
            value = normalize_uscc(value)
            problem = uscc_problem(value)
            if problem:
                raise PydanticCustomError("invalid_credit_code", f"统一社会信用代码无效 ({problem})")
        else:
            value = normalize_id_card(value)
            problem = id_card_problem(value)
            if problem:
                raise PydanticCustomError("invalid_id_card", f"身份证号码无效 ({problem})")
        return value


def _plain(registrant: Registrant) -> Registrant:
    for field in ("name", "id_number", "mobile"):
        value = getattr(registrant, field)
        if is_sealed(value) or value == ERASED:
            raise PydanticCustomError("invalid_value", "请填写真实信息 (a sealed or erased value is not accepted)")
    return registrant


# what a request names a registrant with: plain values only (events may carry sealed ones)
PlainRegistrant = Annotated[Registrant, AfterValidator(_plain)]


class Engine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    maker: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    serial: str = Field(min_length=1, max_length=64)


class MachineInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category
    category_other: str | None = Field(default=None, max_length=50)
    brand: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    factory_serial: str = Field(min_length=1, max_length=64)
    manufactured_on: date
    acquired_on: date
    acquisition: AcquisitionKind
    engine: Engine
    rated_power_kw: float = Field(gt=0, le=5000)
    fuel: Fuel
    emission_stage: str = Field(max_length=2, description="1, 2, 3, 4, D (electric) or X (undetermined); rule C5")
    pollution_control_device: str | None = Field(default=None, max_length=200)
    district: DistrictCode = Field(description="district of use, 01-41 (rule C5 table)")

    @field_validator("emission_stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in STAGES:
            raise PydanticCustomError("invalid_stage", "排放阶段须为 1、2、3、4、D 或 X")
        return value

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.acquired_on < self.manufactured_on:
            raise ValueError("购买/转入日期不能早于出厂日期 (acquired_on before manufactured_on)")
        if self.fuel is Fuel.ELECTRIC and self.emission_stage != "D":
            raise ValueError("电动机械的排放阶段代码为 D (rule C5)")
        return self
