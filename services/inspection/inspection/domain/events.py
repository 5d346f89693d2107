"""Events of the inspection service (documented in docs/events.md).

Streams: ``check-<check id>``: one inspector's check of one machine at a site (rule D4) and the violations it
opened, to their closure (a violation's id is ``<check id>-<kind>``, so it names its stream);
``duties-<site code>``: a site's own duties (rules D2, D4, E5, E6).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from nrmm_kernel.envelope import DomainEvent, EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.inspection", source="/nrmm/inspection")


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Operator(Value):
    """Who operates an uncoded machine on site (user unit, contact), so that someone can be told and held to it."""

    user_unit: str
    contact_name: str
    mobile: str


class MachineRef(Value):
    """The machine checked: by its code (the registry's record, or another province's code), or uncoded."""

    code: str | None = None
    machine_key: str | None = None  # the code without its stage
    other_province: bool = False
    registry_machine_id: str | None = None
    owner_account_id: str | None = None
    category: str | None = None
    brand: str | None = None
    model: str | None = None
    factory_serial: str | None = None
    emission_stage: str | None = None
    rated_power_kw: float | None = None
    serial_key: str | None = None  # brand|factory serial, normalised: finds an uncoded machine once it is coded


class Company(Value):
    name: str
    credit_code: str | None = None


class Addressee(Value):
    """Who a violation is addressed to: the owner (uncoded: the recorded operator) and the site's company."""

    owner_account_id: str | None = None
    owner_name: str | None = None
    operator: Operator | None = None
    company: Company | None = None


class Discrepancy(Value):
    field: str
    registered: str | None = None
    observed: str


class SmokeResult(Value):
    """rule D1: one smoke test and its verdict against the limits table (GB 36886-2018)."""

    k: float | None = None
    ringelmann: int | None = None
    rated_power_kw: float
    limit_class: str
    band: str
    k_limit: float
    ringelmann_limit: int
    exceeded: bool
    exceeded_by: list[str]
    source: str


@registry.register
class MachineChecked(DomainEvent):
    """An inspector checked one machine at a site (rule D4); ``violation_ids`` were opened in the same commit."""

    check_id: str
    site_code: str
    district: str
    department: str | None = None
    machine: MachineRef
    coded: bool
    operator: Operator | None = None
    plate: str | None = None  # affixed | hung | painted | missing (None: uncoded)
    card_carried: bool | None = None
    discrepancies: list[Discrepancy] = []
    entry_registered: bool  # an open stay at this site, in the sites service's records
    stay_id: str | None = None
    photos: list[str] = []
    smoke: SmokeResult | None = None
    in_zone: bool = False
    violation_ids: list[str] = []
    checked_on: date


@registry.register
class ViolationOpened(DomainEvent):
    violation_id: str
    check_id: str
    kind: str
    legal_basis: str
    detail: str
    site_code: str
    district: str
    department: str | None = None
    machine: MachineRef
    addressee: Addressee
    due_at: datetime
    due_on: date  # the deadline's calendar day in Asia/Shanghai


@registry.register
class RectificationSubmitted(DomainEvent):
    """The owner (or the site, or the recorded operator's site) says what was done, with evidence (rule D1)."""

    violation_id: str
    measure: str
    note: str | None = None
    evidence: list[str] = []
    by_account_id: str
    by_role: str


@registry.register
class RectificationReviewed(DomainEvent):
    """An inspector reviewed a rectification: accepted (the violation closes) or rejected with a reason."""

    violation_id: str
    accepted: bool
    reason: str | None = None


@registry.register
class SmokeRetested(DomainEvent):
    """A retest after a smoke exceedance's rectification; a pass closes the violation."""

    violation_id: str
    smoke: SmokeResult
    passed: bool


@registry.register
class ViolationLinked(DomainEvent):
    """An uncoded machine was coded: its violation now addresses the code's owner."""

    violation_id: str
    code: str
    registry_machine_id: str
    owner_account_id: str


@registry.register
class ViolationClosed(DomainEvent):
    violation_id: str
    reason: str  # review_accepted | retest_passed | coded


@registry.register
class ViolationWithdrawn(DomainEvent):
    """An inspector withdrew a violation opened in error, with the reason: nothing is deleted, corrections are
    events. A withdrawn violation is closed."""

    violation_id: str
    reason: str


@registry.register
class ViolationOverdue(DomainEvent):
    """The service's own scheduler found the deadline passed with the violation still open."""

    violation_id: str
    due_at: datetime
    kind: str
    addressee: Addressee


# the site's own duties (stream duties-<site code>) ----------------------------------------------------------------
@registry.register
class ManagementRulesUploaded(DomainEvent):
    """rule E5: the construction company's machine-management system for this site, uploaded by the site admin."""

    site_code: str
    title: str
    documents: list[str]


@registry.register
class ManagementRulesReviewed(DomainEvent):
    """rule E5: an inspector checked the site's machine-management rules."""

    site_code: str
    accepted: bool
    reason: str | None = None


@registry.register
class ProjectOwnerRecorded(DomainEvent):
    """rule D2: the project owner (建设单位) of the site."""

    site_code: str
    name: str
    credit_code: str


@registry.register
class ContractUploaded(DomainEvent):
    """rule D2: a construction or supervision contract with the NRMM-duty clauses the project owner wrote into it."""

    site_code: str
    contract_id: str
    kind: str  # construction | supervision
    counterparty: str
    clauses: str
    documents: list[str]


@registry.register
class ContractReviewed(DomainEvent):
    site_code: str
    contract_id: str
    accepted: bool
    reason: str | None = None


@registry.register
class FuelReceiptSubmitted(DomainEvent):
    """rule E6: a fuel purchase receipt (机械用油进货凭证), for the site's supervision engineer to check."""

    site_code: str
    receipt_id: str
    supplier: str
    purchased_on: date
    quantity_litres: float
    fuel_standard: str
    photo: str


@registry.register
class FuelReceiptDecided(DomainEvent):
    """rule E6: the site's supervision engineer accepted the receipt, or rejected it with a reason."""

    site_code: str
    receipt_id: str
    accepted: bool
    reason: str | None = None
