"""Events of the sites service (documented in docs/events.md).

Streams: ``site-<site code>`` (a site's registration and life), ``zone-<zone id>`` (a restricted zone),
``presence-<machine key>`` (where one machine is: entries, exits, two-site anomalies; the key is the code without its
stage, so that a stage correction keeps the machine's place) and ``refusal-<id>`` (one refused
entry, kept for auditors).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from nrmm_kernel.envelope import DomainEvent, EventRegistry

from .model import SiteDetails, SiteStatus, StateOwnership, WorkingPeriod
from .zones import ZoneDefinition

registry = EventRegistry(namespace="cn.cq.nrmm.sites", source="/nrmm/sites")


@registry.register
class SiteRegistered(DomainEvent):
    """A site registered on the platform (rule E1); ``admin_account_id`` is its site-admin account."""

    site_code: str
    details: SiteDetails
    status: SiteStatus
    admin_account_id: str


@registry.register
class SiteUpdated(DomainEvent):
    """A site's details changed; ``changed_fields`` names the top-level fields that did."""

    details: SiteDetails
    changed_fields: list[str]


@registry.register
class SiteStatusChanged(DomainEvent):
    previous: SiteStatus
    status: SiteStatus
    reason: str | None = None
    by_staff: bool = False  # a platform administrator, not the site's own admin (older events: the site's admin)


@registry.register
class SiteDepartmentConfirmed(DomainEvent):
    """The competent department (from the site's category, rule D3) confirmed that it governs the site: from now the
    site counts in that department's views and rankings (rule D6)."""

    department: str
    district: str


@registry.register
class SiteDepartmentDeclined(DomainEvent):
    """The department the site's category names declined it (the category is wrong, say); staff correct the site."""

    department: str
    district: str
    reason: str


@registry.register
class SiteStateOwnershipDeclared(DomainEvent):
    """The site declared whether a state-owned enterprise builds or owns it (国资); unconfirmed until the
    state-owned assets department confirms it."""

    ownership: StateOwnership


@registry.register
class SiteStateOwnershipConfirmed(DomainEvent):
    """The state-owned assets department confirmed the declaration: the site is in its views (rule D3)."""

    ownership: StateOwnership


@registry.register
class SiteStateOwnershipDeclined(DomainEvent):
    reason: str


class ZoneUse(BaseModel):
    """A restricted zone as it stood when an entry was decided."""

    model_config = ConfigDict(frozen=True)

    zone_id: str
    version: int
    name: str


class MachineFacts(BaseModel):
    """What the gate knew of the machine: from the registry's codes, or read off another province's code."""

    model_config = ConfigDict(frozen=True)

    code: str
    province: str
    stage: str
    category: str | None = None
    fuel: str | None = None
    brand: str | None = None
    model: str | None = None
    registry_status: str | None = None  # None: another province's code (rule C3)


@registry.register
class MachineEntered(DomainEvent):
    """A machine entered a site (rules E2, E3): the stay ``stay_id`` begins."""

    stay_id: str
    site_code: str
    district: str
    department: str
    machine: MachineFacts
    other_province: bool
    colour: str
    reason: str
    working_period: WorkingPeriod
    reported_category: str | None = None
    reported_stage: str | None = None
    stage_mismatch: bool = False  # what the site reported differs from the registry (for inspectors)
    batch_id: str | None = None
    batch_size: int = 1
    zones: list[ZoneUse] = []  # restricted zones covering the site at that moment
    entered_on: date


@registry.register
class MachineExited(DomainEvent):
    """The machine left the site: the stay ends."""

    stay_id: str
    site_code: str
    code: str
    exited_on: date


@registry.register
class EntryRefused(DomainEvent):
    """An entry was refused at the gate; kept because auditors and inspectors want every refusal."""

    site_code: str
    district: str
    scanned: str  # what was scanned or typed, as received (trimmed)
    code: str | None = None  # the parsed code, when it had the right shape
    reason: str  # malformed_code, unknown_code, code_cancelled, code_superseded, high_emission_in_zone, ...
    message: str
    machine: MachineFacts | None = None
    zones: list[ZoneUse] = []
    other_site_code: str | None = None
    batch_id: str | None = None
    current_code: str | None = None  # the code to use instead (code_superseded, stage_not_declared)


@registry.register
class MachineOnTwoSites(DomainEvent):
    """Anomaly for inspectors (rule E2): a machine scanned in at one site while still inside another."""

    code: str
    site_code: str  # where it was scanned
    district: str  # of that site
    inside_site_codes: list[str]  # where it is still recorded inside
    admitted: bool


@registry.register
class ZoneDefined(DomainEvent):
    """A restricted zone (禁用区, rule E4) was defined by the ecology bureau."""

    zone_id: str
    definition: ZoneDefinition


@registry.register
class ZoneChanged(DomainEvent):
    """A zone's area, name or high-emission stages changed, or it was lifted (``active`` false)."""

    definition: ZoneDefinition
    active: bool
