"""Events of data sharing (rules D5, N1, N2), on the inspection service's topic (documented in docs/events.md).

Streams: ``special-equipment-<registration number>``: one record of market supervision's special-equipment
platform (rule D5) and its follow-up task; ``disclosure-<brand|model>``: a manufacturer's disclosure of one model
(rule N1); ``spot-check-<id>``: one spot check of a new or sold machine (rule N2).
"""

from __future__ import annotations

from datetime import date, datetime

from nrmm_kernel.envelope import DomainEvent

from .events import MachineRef, SmokeResult, Value, registry


class EquipmentFacts(Value):
    """rule D5: a special-equipment record as market supervision keeps it."""

    registration_number: str
    equipment_kind: str  # forklift | crane | ... (rule S1's categories)
    user_unit: str
    brand: str
    model: str
    factory_serial: str
    district: str


@registry.register
class SpecialEquipmentRecorded(DomainEvent):
    """A record arrived, new or changed (the same record again records nothing)."""

    equipment: EquipmentFacts
    serial_key: str  # normalised brand + factory serial: how the registry's machine is found
    digest: str
    source: str  # upload | push | cli


@registry.register
class SpecialEquipmentMatched(DomainEvent):
    """The record is a machine the registry knows: coded, or with a code application under way."""

    registration_number: str
    registry_machine_id: str
    code: str | None = None


@registry.register
class FollowUpOpened(DomainEvent):
    """rule D5: special equipment without an environmental code: a task for its district's ecology office, with the
    user unit as the contact."""

    registration_number: str
    district: str
    contact: str
    equipment_kind: str
    serial_key: str
    opened_on: date


@registry.register
class FollowUpClosed(DomainEvent):
    """A code application for the machine appeared (or it was already coded when the record changed)."""

    registration_number: str
    reason: str  # code_applied
    registry_machine_id: str
    closed_at: datetime


class DisclosedFact(Value):
    name: str
    value: str


@registry.register
class ModelDisclosed(DomainEvent):
    """rule N1: a manufacturer's disclosure of a model's emission information, public; a changed disclosure is
    disclosed again (the latest answers)."""

    model_key: str  # normalised brand|model
    manufacturer: str
    brand: str
    model: str
    engine_model: str
    emission_stage: str
    label_number: str  # 环保信息标签 number
    test_facts: list[DisclosedFact] = []
    digest: str
    source: str


class SpotFinding(Value):
    kind: str  # not_disclosed | engine_model_differs | stage_differs | label_differs | label_missing | smoke_exceedance
    detail: str
    disclosed: str | None = None
    observed: str | None = None


@registry.register
class SpotCheckRecorded(DomainEvent):
    """rule N2: the ecology bureau (with market supervision) checked a new or sold machine at a factory, dealer
    or site; recorded like an inspection, judged against the model's disclosure (rule N1)."""

    spot_check_id: str
    district: str
    place_kind: str  # factory | dealer | site
    place_name: str
    sale_state: str  # new | sold
    manufacturer: str
    machine: MachineRef
    engine_model: str | None = None
    label_number: str | None = None
    label_present: bool
    participants: list[str] = []
    photos: list[str] = []
    smoke: SmokeResult | None = None
    findings: list[SpotFinding] = []
    passed: bool
    inspector_department: str | None = None
    checked_on: date
