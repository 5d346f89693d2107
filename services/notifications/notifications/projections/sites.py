"""From the sites service's topic: each site's admin, manager and machines inside (context for the fan-out and the
reminders), and the notices its events call for (one request document per event, as for the registry)."""

from __future__ import annotations

from nrmm_kernel.projector import Projection, on
from sites import contracts as sites

from ..domain.notices import days_after, notice, reminder

# refusals that say nothing about a registered machine's owner: nobody to tell
NOBODY_TO_TELL = frozenset({"malformed_code", "unknown_code"})


def site_stream(site_code: str) -> str:
    return f"site-{site_code}"


class SiteContext(Projection):
    name = "notice_sites"
    contract = sites.events

    def doc_id(self, envelope) -> str:
        if envelope.streamid.startswith("presence-"):
            return site_stream(envelope.data["site_code"])  # a machine's stays are counted on its site
        return envelope.streamid

    @on(sites.SiteRegistered)
    def registered(self, doc, event: sites.SiteRegistered, envelope) -> dict:
        return {**(doc or {"inside": []}), "site_code": event.site_code, "admin": event.admin_account_id,
                **self._details(event.details)}

    @on(sites.SiteUpdated)
    def updated(self, doc, event: sites.SiteUpdated, envelope) -> dict:
        return {**doc, **self._details(event.details)}

    @on(sites.MachineEntered)
    def entered(self, doc, event: sites.MachineEntered, envelope) -> dict:
        doc = doc or {"inside": [], "site_code": event.site_code}
        return {**doc, "inside": sorted({*doc.get("inside", []), event.stay_id})}

    @on(sites.MachineExited)
    def exited(self, doc, event: sites.MachineExited, envelope) -> dict:
        doc = doc or {"inside": [], "site_code": event.site_code}
        return {**doc, "inside": [s for s in doc.get("inside", []) if s != event.stay_id]}

    @staticmethod
    def _details(details) -> dict:
        return {"name": details.name, "mobile": details.manager.mobile, "ends_on": details.ends_on.isoformat()}


class SitesNotices(Projection):
    name = "notice_requests_sites"
    contract = sites.events

    def doc_id(self, envelope) -> str:
        return envelope.id

    def finish(self, doc: dict, envelope) -> dict:
        return {"event_id": envelope.id, "event_type": envelope.event_name, "stream": envelope.streamid,
                "version": envelope.streamversion, "at": envelope.time, "done": False, "notices": [],
                "reminders": [], **doc}

    @on(sites.SiteRegistered)
    def registered(self, doc, event: sites.SiteRegistered, envelope) -> dict:
        admin = {"site_admin": event.site_code}
        return {"notices": [notice("site_registered", admin, site_name=event.details.name,
                                   site_code=event.site_code)],
                "reminders": [self._past_end(event.site_code, event.details)]}

    @on(sites.SiteUpdated)
    def updated(self, doc, event: sites.SiteUpdated, envelope) -> dict:
        # a new end date is a new reminder; the old one finds the site's dates changed and is skipped
        site_code = envelope.streamid.removeprefix("site-")
        return {"reminders": [self._past_end(site_code, event.details)]}

    @on(sites.EntryRefused)
    def refused(self, doc, event: sites.EntryRefused, envelope) -> dict:
        if event.code is None or event.reason in NOBODY_TO_TELL or event.machine is None \
                or event.machine.registry_status is None:  # another province's machine: not ours to tell
            return {}
        # the owner of the machine refused at a gate is told why, in the words the guard read
        return {"notices": [notice("entry_refused", {"owner_of_code": event.code}, code=event.code,
                                   site_code=event.site_code, reason=event.message)]}

    @staticmethod
    def _past_end(site_code: str, details) -> dict:
        # a site past its end date with machines still inside (rule E2: exits are registered)
        return reminder(f"site-past-end:{site_code}:{details.ends_on.isoformat()}", days_after(details.ends_on, 1),
                        "site_past_end_date", {"site_admin": site_code},
                        condition={"site_has_machines": site_code, "ends_on": details.ends_on.isoformat()},
                        site_code=site_code, site_name=details.name, ends_on=details.ends_on)
