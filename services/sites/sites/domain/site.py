"""The site aggregate (rule E1) and the restricted-zone aggregate (rule E4)."""

from __future__ import annotations

from nrmm_kernel.aggregate import Aggregate
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed

from .events import (
    SiteDepartmentConfirmed,
    SiteDepartmentDeclined,
    SiteRegistered,
    SiteStateOwnershipConfirmed,
    SiteStateOwnershipDeclared,
    SiteStateOwnershipDeclined,
    SiteStatusChanged,
    SiteUpdated,
    ZoneChanged,
    ZoneDefined,
)
from .model import SiteDetails, SiteStatus, StateOwnership, competent_department
from .zones import ZoneDefinition

# completed is final: a finished site does not take machines again
TRANSITIONS = {
    SiteStatus.IN_CONSTRUCTION: {SiteStatus.SUSPENDED, SiteStatus.COMPLETED},
    SiteStatus.SUSPENDED: {SiteStatus.IN_CONSTRUCTION, SiteStatus.COMPLETED},
    SiteStatus.COMPLETED: set(),
}

# what places a site in zones and under a department: changed by platform staff only (rules D3, E4)
STAFF_ONLY_FIELDS = ("address.street", "coordinates", "category", "department", "jurisdiction")


def _dotted(document: dict, path: str):
    for part in path.split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


class Site(Aggregate):
    def __init__(self, site_code: str):
        super().__init__(site_code)
        self.details: SiteDetails | None = None
        self.status: SiteStatus | None = None
        self.admin_account_id: str | None = None
        self.suspended_by_staff = False
        self.confirmed_department: str | None = None  # rule D3: who governs it, once that department confirmed
        self.state_ownership: StateOwnership | None = None
        self.state_ownership_confirmed = False

    @property
    def registered(self) -> bool:
        return self.status is not None

    @property
    def competent_department(self) -> str | None:
        department = competent_department(self.details.category, self.details.department)
        return department.value if department else None

    # who governs the site (rule D3) ------------------------------------------------------------------
    def confirm_department(self, *, accepted: bool, reason: str | None) -> None:
        """The competent department's administrator confirms (or declines) that it governs the site."""
        department = self.competent_department
        if accepted:
            if self.confirmed_department == department:
                raise Conflict("主管部门已确认 (already confirmed)", code="already_confirmed")
            self.record(SiteDepartmentConfirmed(department=department, district=self.details.district))
            return
        if not reason:
            raise ValidationFailed("不予确认须说明理由 (reason required)", code="reason_required", field="reason")
        self.record(SiteDepartmentDeclined(department=department, district=self.details.district, reason=reason))

    def declare_state_ownership(self, ownership: StateOwnership) -> None:
        if self.status is SiteStatus.COMPLETED:
            raise Conflict("已完工的场地不能修改 (site completed)", code="site_completed")
        if ownership == self.state_ownership:
            raise ValidationFailed("没有需要修改的信息 (nothing changed)", code="nothing_changed", field="ownership")
        self.record(SiteStateOwnershipDeclared(ownership=ownership))

    def confirm_state_ownership(self, *, accepted: bool, reason: str | None) -> None:
        if self.state_ownership is None or not self.state_ownership.state_owned:
            raise Conflict("场地未申报国有企业参建 (nothing declared)", code="nothing_to_confirm")
        if accepted:
            if self.state_ownership_confirmed:
                raise Conflict("国资属性已确认 (already confirmed)", code="already_confirmed")
            self.record(SiteStateOwnershipConfirmed(ownership=self.state_ownership))
            return
        if not reason:
            raise ValidationFailed("不予确认须说明理由 (reason required)", code="reason_required", field="reason")
        self.record(SiteStateOwnershipDeclined(reason=reason))

    def register(self, *, details: SiteDetails, status: SiteStatus, admin_account_id: str) -> None:
        if self.registered:
            raise Conflict("场地编号已被注册 (site code already registered)", code="duplicate_site_code",
                           field="site_code")
        if status is SiteStatus.COMPLETED:
            raise ValidationFailed("已完工的场地无需注册", code="invalid_status", field="status")
        self.record(SiteRegistered(site_code=self.id, details=details, status=status,
                                   admin_account_id=admin_account_id))

    def update(self, details: SiteDetails, *, by_site_admin: bool) -> None:
        """A site's own admin corrects its name, company, address detail, dates and manager. Where the site lies
        and who governs it decide which zones and which department apply to it (rule E4, rule D3): only platform
        staff change those, and nobody moves a site to another district (its district is its jurisdiction)."""
        if self.status is SiteStatus.COMPLETED:
            raise Conflict("已完工的场地不能修改 (site completed)", code="site_completed")
        before, after = self.details.model_dump(), details.model_dump()
        changed = sorted(k for k in after if after[k] != before[k])
        if not changed:
            raise ValidationFailed("没有需要修改的信息 (nothing changed)", code="nothing_changed", field="details")
        if "district" in changed:
            raise ValidationFailed("场地所在区县不能更改，请重新注册 (district is fixed)", code="district_fixed",
                                   field="details.district")
        if by_site_admin:
            # coordinates recorded for the first time place a site that polygon zones took to be inside them
            placed = [f for f in STAFF_ONLY_FIELDS if _dotted(before, f) != _dotted(after, f)
                      and not (f == "coordinates" and before.get("coordinates") is None)]
            if placed:
                raise Forbidden("场地位置与主管部门须由主管部门管理员修改 (staff only)", code="staff_only_change",
                                field=f"details.{placed[0]}", details={"fields": placed})
        self.record(SiteUpdated(details=details, changed_fields=changed))

    def change_status(self, status: SiteStatus, *, inside: list[str], reason: str | None = None,
                      by_site_admin: bool = True) -> None:
        """``inside``: codes of the machines the site's roster still shows inside. A suspension imposed by platform
        staff (an enforcement measure) is lifted by staff only, and a site so suspended is not completed by its
        own admin either."""
        if by_site_admin and self.suspended_by_staff:
            raise Forbidden("场地由主管部门停工，须由主管部门恢复 (suspended by staff)", code="suspended_by_staff",
                            field="status")
        if status == self.status:
            raise Conflict("场地已处于该状态 (already in that status)", code="status_unchanged",
                           details={"status": self.status})
        if status not in TRANSITIONS[self.status]:
            raise Conflict(f"场地状态不能从 {self.status} 变为 {status}", code="invalid_transition",
                           details={"from": self.status, "to": status})
        if status is SiteStatus.COMPLETED and inside:
            raise Conflict("场地内仍有机械未出场，不能完工 (machines still inside)", code="machines_still_inside",
                           details={"inside": sorted(inside)})
        self.record(SiteStatusChanged(previous=self.status, status=status, reason=reason, by_staff=not by_site_admin))

    def on_SiteRegistered(self, e: SiteRegistered) -> None:
        self.details, self.status, self.admin_account_id = e.details, e.status, e.admin_account_id

    def on_SiteUpdated(self, e: SiteUpdated) -> None:
        self.details = e.details
        if self.confirmed_department != self.competent_department:
            self.confirmed_department = None  # another category: its department confirms again

    def on_SiteDepartmentConfirmed(self, e: SiteDepartmentConfirmed) -> None:
        self.confirmed_department = e.department

    def on_SiteDepartmentDeclined(self, e: SiteDepartmentDeclined) -> None:
        self.confirmed_department = None

    def on_SiteStateOwnershipDeclared(self, e: SiteStateOwnershipDeclared) -> None:
        self.state_ownership, self.state_ownership_confirmed = e.ownership, False

    def on_SiteStateOwnershipConfirmed(self, e: SiteStateOwnershipConfirmed) -> None:
        self.state_ownership_confirmed = True

    def on_SiteStateOwnershipDeclined(self, e: SiteStateOwnershipDeclined) -> None:
        self.state_ownership_confirmed = False

    def on_SiteStatusChanged(self, e: SiteStatusChanged) -> None:
        self.status = e.status
        self.suspended_by_staff = e.status is SiteStatus.SUSPENDED and e.by_staff


class Zone(Aggregate):
    def __init__(self, zone_id: str):
        super().__init__(zone_id)
        self.definition: ZoneDefinition | None = None
        self.active = False

    def define(self, definition: ZoneDefinition) -> None:
        if self.definition is not None:
            raise Conflict("禁用区已存在", code="zone_exists")
        self.record(ZoneDefined(zone_id=self.id, definition=definition))

    def change(self, definition: ZoneDefinition, *, active: bool = True) -> None:
        if definition.district != self.definition.district:
            raise ValidationFailed("禁用区所在区县不能更改", code="district_fixed", field="district")
        if definition == self.definition and active == self.active:
            raise ValidationFailed("没有需要修改的信息 (nothing changed)", code="nothing_changed", field="definition")
        self.record(ZoneChanged(definition=definition, active=active))

    def on_ZoneDefined(self, e: ZoneDefined) -> None:
        self.definition, self.active = e.definition, True

    def on_ZoneChanged(self, e: ZoneChanged) -> None:
        self.definition, self.active = e.definition, e.active
