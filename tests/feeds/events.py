"""Events of the registry and sites services as the feeds tests put them on the topics."""

from __future__ import annotations

import random
import uuid

from registry import contracts as registry
from sites import contracts as sites
from tests.registry.fixtures import credit_code, registrant

ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ENTERED, EXITED = sites.events.type_of(sites.MachineEntered), sites.events.type_of(sites.MachineExited)
OWNER_CHANGED = registry.events.type_of(registry.OwnerChanged)
REISSUE = registry.events.type_of(registry.PlateReissueRequested)
SITE_REGISTERED = sites.events.type_of(sites.SiteRegistered)


def new_code(district: str) -> str:
    return f"4-N{district}" + "".join(random.choice(ALPHABET) for _ in range(5))


def site_registered(site: str, district: str, category: str = "building") -> sites.SiteRegistered:
    details = {"name": f"工地 {site}", "company": {"name": "中建某局", "credit_code": credit_code()},
               "district": district, "category": category, "address": {"street": "新山村街道", "detail": "1 号"},
               "starts_on": "2026-01-01", "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": "13912345678"}}
    return sites.SiteRegistered(site_code=site, details=details, status="in_construction",
                                admin_account_id=f"acct-{site}")


def entered(site: str, district: str, department: str, code: str) -> sites.MachineEntered:
    facts = sites.MachineFacts(code=code, province="N", stage=code[0], registry_status="issued")
    return sites.MachineEntered(
        stay_id=f"stay-{uuid.uuid4().hex[:8]}", site_code=site, district=district, department=department,
        machine=facts, other_province=False, colour="blue", reason="ok",
        working_period={"starts_on": "2026-10-01", "ends_on": "2026-12-31"}, entered_on="2026-10-01")


def exited(stay: sites.MachineEntered) -> sites.MachineExited:
    return sites.MachineExited(stay_id=stay.stay_id, site_code=stay.site_code, code=stay.machine.code,
                               exited_on="2026-10-02")


def code_issued(code: str) -> registry.CodeIssued:
    return registry.CodeIssued(code=code, reviewer_account_id="rev-1", issued_on="2026-09-01")


def owner_changed(mobile: str) -> registry.OwnerChanged:
    return registry.OwnerChanged(previous_owner_account_id="owner-a", new_owner_account_id="owner-b",
                                 registrant=registrant(mobile=mobile), transferred_on="2026-10-01",
                                 reported_on="2026-10-01", late=False, accepted_on="2026-10-01")


def reissue_requested() -> registry.PlateReissueRequested:
    return registry.PlateReissueRequested(damaged_on="2026-10-01", reported_on="2026-10-02", reason="磨损",
                                          late=False)
