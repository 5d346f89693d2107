"""The facts department views are computed from (rules D3, D6), kept per entity by the kernel's projections:
who governs each site, each stay with the machine's category, stage and gate colour, each refusal at a gate; and a
change mark per event naming the site it touched, which the views' refresher (app/views_refresh.py) consumes.

The marks are documents keyed by the event's id: an event applied twice marks once, a mark is deleted (by id) only
after the site's figures were recomputed from these documents, so a change is never lost and never counted twice.
Checks and violations come from the service's own read models (projections/own.py)."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import parse_code
from nrmm_kernel.projector import Projection, on
from nrmm_kernel.reference import Department
from sites import contracts as site

from ..domain import events as ev

VIEW_SITES = "view_sites"
VIEW_STAYS = "view_stays"
VIEW_REFUSALS = "view_refusals"
CHANGES_FROM_SITES = "view_changes_sites"
CHANGES_OWN = "view_changes_own"
ALL = "all"  # the whole city's sites: the ecology bureau's and auditors' view


def governed_by(doc: dict) -> list[str]:
    """rule D3: the departments whose views a site counts in. Its category's department once that department
    confirmed it; the state-owned assets department once it confirmed the site's state ownership; and the whole-city
    view (the ecology bureau's) always."""
    departments = [ALL]
    if doc.get("confirmed_department"):
        departments.append(doc["confirmed_department"])
    if doc.get("state_ownership_confirmed") and Department.STATE_ASSETS.value not in departments:
        departments.append(Department.STATE_ASSETS.value)
    return departments


class ViewSites(Projection):
    """One document per site: where it is, its company, who governs it (confirmed) and whether it is state-owned."""

    name = VIEW_SITES
    contract = site.events

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("site-")

    def _details(self, doc: dict, details) -> dict:
        competent = site.competent_department(details.category, details.department)
        competent = competent.value if competent else None
        if doc.get("confirmed_department") not in (None, competent):
            doc["confirmed_department"] = None  # another category: its department confirms again (rule D3)
        doc.update(name=details.name, district=details.district, category=details.category.value,
                   competent_department=competent,
                   company={"name": details.company.name, "credit_code": details.company.credit_code})
        return doc

    @on(site.SiteRegistered)
    def registered(self, doc, event: site.SiteRegistered, envelope):
        doc = {**(doc or {}), "site_code": event.site_code, "status": event.status.value}
        return self._details(doc, event.details)

    @on(site.SiteUpdated)
    def updated(self, doc, event: site.SiteUpdated, envelope):
        return self._details(dict(doc or {}), event.details)

    @on(site.SiteStatusChanged)
    def status_changed(self, doc, event: site.SiteStatusChanged, envelope):
        return {**(doc or {}), "status": event.status.value}

    @on(site.SiteDepartmentConfirmed)
    def confirmed(self, doc, event: site.SiteDepartmentConfirmed, envelope):
        return {**(doc or {}), "confirmed_department": event.department}

    @on(site.SiteDepartmentDeclined)
    def declined(self, doc, event: site.SiteDepartmentDeclined, envelope):
        return {**(doc or {}), "confirmed_department": None}

    @on(site.SiteStateOwnershipDeclared)
    def ownership_declared(self, doc, event: site.SiteStateOwnershipDeclared, envelope):
        return {**(doc or {}), "state_ownership": event.ownership.model_dump(mode="json"),
                "state_ownership_confirmed": False}

    @on(site.SiteStateOwnershipConfirmed)
    def ownership_confirmed(self, doc, event: site.SiteStateOwnershipConfirmed, envelope):
        return {**(doc or {}), "state_ownership": event.ownership.model_dump(mode="json"),
                "state_ownership_confirmed": event.ownership.state_owned}

    @on(site.SiteStateOwnershipDeclined)
    def ownership_declined(self, doc, event: site.SiteStateOwnershipDeclined, envelope):
        return {**(doc or {}), "state_ownership_confirmed": False}

    def finish(self, doc, envelope):
        doc["governed_by"] = governed_by(doc)
        return doc


class ViewStays(Projection):
    """One document per stay: the machine's category, stage and gate colour (rule E2), inside or gone."""

    name = VIEW_STAYS
    contract = site.events

    def doc_id(self, envelope) -> str:
        return envelope.data["stay_id"]

    @on(site.MachineEntered)
    def entered(self, doc, event: site.MachineEntered, envelope):
        doc = dict(doc or {})
        doc.update(site_code=event.site_code, machine_key=parse_code(event.machine.code).machine_key,
                   category=event.reported_category or event.machine.category or "other",
                   stage=event.reported_stage or event.machine.stage, colour=event.colour,
                   entered_on=event.entered_on.isoformat())
        doc.setdefault("inside", True)
        return doc

    @on(site.MachineExited)
    def exited(self, doc, event: site.MachineExited, envelope):
        return {**(doc or {}), "site_code": event.site_code, "inside": False, "exited_on": event.exited_on.isoformat()}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING)])


class ViewRefusals(Projection):
    """One document per entry refused at a gate, with its reason and day (high-emission refusals, rule E4)."""

    name = VIEW_REFUSALS
    contract = site.events

    @on(site.EntryRefused)
    def refused(self, doc, event: site.EntryRefused, envelope):
        return {"site_code": event.site_code, "reason": event.reason,
                "day": today_in_chongqing(envelope.time).isoformat()}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING)])


class _ChangeMarks(Projection):
    def doc_id(self, envelope) -> str:
        return envelope.id  # one mark per event: inserted once, deleted by the refresher once consumed


class ChangesFromSites(_ChangeMarks):
    """A mark per sites event naming the site whose figures it changes."""

    name = CHANGES_FROM_SITES
    contract = site.events

    @on(site.SiteRegistered, site.SiteUpdated, site.SiteStatusChanged, site.SiteDepartmentConfirmed,
        site.SiteDepartmentDeclined, site.SiteStateOwnershipDeclared, site.SiteStateOwnershipConfirmed,
        site.SiteStateOwnershipDeclined)
    def site_changed(self, doc, event, envelope):
        return {"site_code": envelope.streamid.removeprefix("site-")}

    @on(site.MachineEntered, site.MachineExited, site.EntryRefused)
    def gate(self, doc, event, envelope):
        return {"site_code": event.site_code}


class ChangesOwn(_ChangeMarks):
    """A mark per check or violation event: the check names its site (the refresher reads it from the checks)."""

    name = CHANGES_OWN
    contract = ev.registry

    @on(ev.MachineChecked, ev.ViolationOpened, ev.RectificationSubmitted, ev.RectificationReviewed,
        ev.SmokeRetested, ev.ViolationLinked, ev.ViolationClosed, ev.ViolationWithdrawn, ev.ViolationOverdue)
    def enforcement(self, doc, event, envelope):
        return {"check_id": envelope.streamid.removeprefix("check-"), "site_code": getattr(event, "site_code", None)}
