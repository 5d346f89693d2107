"""What an inspection finds (rule D4), the violations it opens and their legal basis (渝环规〔2024〕1号)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class PlateState(StrEnum):
    """rules C9, D4: the plate is affixed, hung or painted in a visible place, or missing."""

    AFFIXED = "affixed"
    HUNG = "hung"
    PAINTED = "painted"
    MISSING = "missing"


class ViolationKind(StrEnum):
    UNCODED = "uncoded"
    PLATE_MISSING = "plate_missing"
    CARD_MISSING = "card_missing"
    REGISTRATION_MISMATCH = "registration_mismatch"
    ENTRY_NOT_REGISTERED = "entry_not_registered"
    SMOKE_EXCEEDANCE = "smoke_exceedance"
    HIGH_EMISSION_IN_ZONE = "high_emission_in_zone"


LEGAL_BASIS: dict[ViolationKind, str] = {
    ViolationKind.UNCODED: "渝环规〔2024〕1号: 在本市使用的非道路移动机械应当进行环保编码登记 (rules C1, C2)",
    ViolationKind.PLATE_MISSING: "渝环规〔2024〕1号: 编码标牌应当固定或喷涂在机械明显位置 (rules C9, D4)",
    ViolationKind.CARD_MISSING: "渝环规〔2024〕1号: 信息采集卡应当随车携带 (rules C9, D4)",
    ViolationKind.REGISTRATION_MISMATCH: "渝环规〔2024〕1号: 登记信息应当与机械实际一致 (rules C6, D4)",
    ViolationKind.ENTRY_NOT_REGISTERED: "渝环规〔2024〕1号: 施工单位应当登记机械进出场信息 (rules E2, D4)",
    ViolationKind.SMOKE_EXCEEDANCE: "GB 36886-2018; 渝环规〔2024〕1号: 超标机械应当维修或加装、更换污染控制装置 "
                                     "(rules D1, E4)",
    ViolationKind.HIGH_EMISSION_IN_ZONE: "渝环规〔2024〕1号: 禁用区内禁止使用高排放非道路移动机械 (rule E4)",
}

# configuration defaults (Settings.violation_deadline_days overrides any of them): days to rectify
DEFAULT_DEADLINE_DAYS: dict[ViolationKind, int] = {
    ViolationKind.UNCODED: 30,  # rule C2: apply within 30 days
    ViolationKind.PLATE_MISSING: 10,  # rule C8: a reissue within 10 days
    ViolationKind.CARD_MISSING: 10,
    ViolationKind.REGISTRATION_MISMATCH: 30,  # rule C6: records updated within 30 days
    ViolationKind.ENTRY_NOT_REGISTERED: 3,
    ViolationKind.SMOKE_EXCEEDANCE: 15,
    ViolationKind.HIGH_EMISSION_IN_ZONE: 1,
}


def deadline_days(overrides: dict[str, int] | None = None) -> dict[ViolationKind, int]:
    days = dict(DEFAULT_DEADLINE_DAYS)
    for kind, value in (overrides or {}).items():
        days[ViolationKind(kind)] = int(value)
    return days


class Measure(StrEnum):
    """What a rectification did (rule D1)."""

    REPAIR = "repair"  # 维修
    DEVICE_FITTED = "device_fitted"  # 加装或更换污染控制装置
    CODE_APPLIED = "code_applied"  # 申请环保编码
    PLATE_FIXED = "plate_fixed"
    CARD_CARRIED = "card_carried"
    RECORD_CORRECTED = "record_corrected"
    ENTRY_REGISTERED = "entry_registered"
    MACHINE_REMOVED = "machine_removed"  # moved out of the zone or off the site
    OTHER = "other"


# rule S1: machines in scope (the registry's category codes)
CATEGORIES = ("excavator", "crane", "bulldozer", "loader", "road_roller", "paver", "grader", "piling", "forklift",
              "stacker", "tractor", "shuttle", "in_plant", "other")

# fields of the registration an inspector compares with the machine in front of them (rule D4)
COMPARED_FIELDS = ("category", "brand", "model", "factory_serial", "engine_serial", "emission_stage")


def normalise(value: object) -> str:
    return "".join(str(value or "").split()).upper()


def serial_key(brand: str, factory_serial: str) -> str:
    """One machine, whatever its spelling: how an uncoded machine is found again once it is coded."""
    return f"{normalise(brand)}|{normalise(factory_serial)}"


def discrepancies(registered: dict[str, Any], observed: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field the inspector observed that differs from the registration, named (rule D4)."""
    found = []
    for field in COMPARED_FIELDS:
        seen = observed.get(field)
        if seen is None:
            continue
        if normalise(seen) != normalise(registered.get(field)):
            found.append({"field": field, "registered": registered.get(field), "observed": seen})
    return found
