"""Value objects of the sites service: a site's details (rule E1), entry reports (rule E2), gate colours."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.fields import CreditCode, DistrictCode, MobileNumber
from nrmm_kernel.identity import mobile_problem
from nrmm_kernel.reference import Department


class SiteCategory(StrEnum):
    """Site categories of rule E1; each has a competent department (主管部门)."""

    BUILDING = "building"  # 房屋建筑
    MUNICIPAL_WORKS = "municipal_works"  # 市政工程
    TRANSPORT_WORKS = "transport_works"  # 交通工程
    PORT_AIRPORT_DOCK = "port_airport_dock"  # 港口/机场/码头
    WATER_WORKS = "water_works"  # 水利工程
    ECOLOGICAL_RESTORATION = "ecological_restoration"  # 生态修复/土地整治/地质灾害治理
    MUNICIPAL_MAINTENANCE = "municipal_maintenance"  # 市政设施养护
    INDUSTRIAL_ENTERPRISE = "industrial_enterprise"  # 工业企业
    OTHER = "other"


CATEGORY_DEPARTMENT: dict[SiteCategory, Department | None] = {
    SiteCategory.BUILDING: Department.HOUSING,
    SiteCategory.MUNICIPAL_WORKS: Department.HOUSING,
    SiteCategory.TRANSPORT_WORKS: Department.TRANSPORT,
    SiteCategory.PORT_AIRPORT_DOCK: Department.TRANSPORT,
    SiteCategory.WATER_WORKS: Department.WATER,
    SiteCategory.ECOLOGICAL_RESTORATION: Department.PLANNING,
    SiteCategory.MUNICIPAL_MAINTENANCE: Department.URBAN,
    SiteCategory.INDUSTRIAL_ENTERPRISE: Department.ECONOMY,
    SiteCategory.OTHER: None,  # the registrant names the department
}


def competent_department(category: SiteCategory, declared: Department | None) -> Department | None:
    """rule D3: the department that governs a site comes from its category; only an "other" site names its own."""
    return CATEGORY_DEPARTMENT[category] or declared


class SiteStatus(StrEnum):
    IN_CONSTRUCTION = "in_construction"  # 在建
    SUSPENDED = "suspended"  # 停工
    COMPLETED = "completed"  # 完工


class JurisdictionLevel(StrEnum):
    """Which level of the competent department governs the site (管辖区域)."""

    CITY = "city"
    DISTRICT = "district"


SITE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{2,39}$")


def check_site_code(value: str, *, registering: bool = False) -> str:
    value = value.strip().upper()
    if not SITE_CODE.match(value):
        raise PydanticCustomError("invalid_site_code", "场地编号须为 3-40 位字母、数字或连字符")
    # the site code is its admin's username, and mobile numbers are owners': no new site takes one
    if registering and mobile_problem(value) is None:
        raise PydanticCustomError("invalid_site_code", "场地编号不能是手机号码")
    return value


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    street: str = Field(min_length=1, max_length=50, description="street or town (街道/镇) the site lies in")
    detail: str = Field(min_length=1, max_length=200)


class Coordinates(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)


class Company(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    credit_code: CreditCode = Field(description="unified social credit code, GB 32100")


class Manager(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    mobile: MobileNumber


class SiteDetails(BaseModel):
    """What rule E1 asks of a site, except its code, status and the admin's credentials."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    company: Company
    district: DistrictCode = Field(description="01-41")
    category: SiteCategory
    department: Department | None = Field(default=None, description="default: the category's department")
    jurisdiction: JurisdictionLevel = JurisdictionLevel.DISTRICT
    address: Address
    coordinates: Coordinates | None = None
    starts_on: date
    ends_on: date
    manager: Manager

    @model_validator(mode="after")
    def _consistent(self):
        if self.ends_on < self.starts_on:
            raise PydanticCustomError("dates_reversed", "竣工日期不能早于开工日期 (ends_on before starts_on)")
        if self.department is None:
            department = CATEGORY_DEPARTMENT[self.category]
            if department is None:
                raise PydanticCustomError("department_required", "其他类场地须指定主管部门 (department required)")
            object.__setattr__(self, "department", department)
        return self


class StateOwnership(BaseModel):
    """Whether a state-owned enterprise builds or owns the project (国资): such a site is governed by the state-owned
    assets department as well as by its category's department, once that department confirms it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    construction_company_state_owned: bool = Field(description="the site's construction company is state-owned")
    project_owner: Company | None = Field(default=None, description="the project owner (建设单位)")
    project_owner_state_owned: bool = False

    @model_validator(mode="after")
    def _owner_named(self):
        if self.project_owner_state_owned and self.project_owner is None:
            raise PydanticCustomError("project_owner_required", "国有建设单位须填写名称与统一社会信用代码")
        return self

    @property
    def state_owned(self) -> bool:
        return self.construction_company_state_owned or self.project_owner_state_owned


class WorkingPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _order(self):
        if self.ends_on < self.starts_on:
            raise PydanticCustomError("dates_reversed", "作业结束日期不能早于开始日期")
        return self


class GateColour(StrEnum):
    """The scanner screen's verdict at a glance (rule E4; the Nanjing colour scheme)."""

    GREEN = "green"  # new energy
    BLUE = "blue"  # China III or later
    YELLOW = "yellow"  # China II or earlier, or unknown
    RED = "red"  # refused


def colour_for(stage: str, fuel: str | None = None) -> GateColour:
    if stage == "D" or fuel == "electric":
        return GateColour.GREEN
    if stage in ("3", "4"):
        return GateColour.BLUE
    return GateColour.YELLOW
