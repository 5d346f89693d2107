"""The site aggregate (rule E1) and the restricted-zone aggregate (rule E4)."""

from __future__ import annotations

from typing import Any

from nrmm_kernel.aggregate import CreatedAggregate, folds
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed

from .events import SiteRegistered, SiteStatusChanged, SiteUpdated, ZoneChanged, ZoneDefined
from .model import SiteDetails, SiteStatus
from .zones import ZoneDefinition

# completed is final: a finished site does not take machines again
TRANSITIONS = {
    SiteStatus.IN_CONSTRUCTION: {SiteStatus.SUSPENDED, SiteStatus.COMPLETED},
    SiteStatus.SUSPENDED: {SiteStatus.IN_CONSTRUCTION, SiteStatus.COMPLETED},
    SiteStatus.COMPLETED: set(),
}

# what places a site in zones and under a department: changed by platform staff only (rules D3, E4)
STAFF_ONLY_FIELDS = ("address.street", "coordinates", "category", "department", "jurisdiction")


def _dotted(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class Site(CreatedAggregate[SiteRegistered]):
    creation = SiteRegistered

    def __init__(self, site_code: str, created: SiteRegistered) -> None:
        super().__init__(site_code, created)
        self.details = created.details
        self.status = created.status
        self.admin_account_id = created.admin_account_id
        self.suspended_by_staff = False

    @staticmethod
    def check_registration(status: SiteStatus) -> None:
        if status is SiteStatus.COMPLETED:
            raise ValidationFailed("已完工的场地无需注册", code="invalid_status", field="status")

    @classmethod
    def register(cls, site_code: str, *, details: SiteDetails, status: SiteStatus, admin_account_id: str) -> Site:
        """A site registers itself (rule E1); a second registration of its code collides on its stream."""
        cls.check_registration(status)
        return cls.create(site_code, SiteRegistered(site_code=site_code, details=details, status=status,
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

    @folds(SiteUpdated)
    def on_SiteUpdated(self, e: SiteUpdated) -> None:
        self.details = e.details

    @folds(SiteStatusChanged)
    def on_SiteStatusChanged(self, e: SiteStatusChanged) -> None:
        self.status = e.status
        self.suspended_by_staff = e.status is SiteStatus.SUSPENDED and e.by_staff


class Zone(CreatedAggregate[ZoneDefined]):
    creation = ZoneDefined

    def __init__(self, zone_id: str, created: ZoneDefined) -> None:
        super().__init__(zone_id, created)
        self.definition = created.definition
        self.active = True

    @classmethod
    def define(cls, zone_id: str, definition: ZoneDefinition) -> Zone:
        return cls.create(zone_id, ZoneDefined(zone_id=zone_id, definition=definition))

    def change(self, definition: ZoneDefinition, *, active: bool = True) -> None:
        if definition.district != self.definition.district:
            raise ValidationFailed("禁用区所在区县不能更改", code="district_fixed", field="district")
        if definition == self.definition and active == self.active:
            raise ValidationFailed("没有需要修改的信息 (nothing changed)", code="nothing_changed", field="definition")
        self.record(ZoneChanged(definition=definition, active=active))

    @folds(ZoneChanged)
    def on_ZoneChanged(self, e: ZoneChanged) -> None:
        self.definition, self.active = e.definition, e.active
