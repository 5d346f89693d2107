"""Every command handler of the sites service, without infrastructure: the in-memory event store and PyMongo's async
API over mongomock (write-side indexes, the copy of the registry's codes); the gateway and the registry are the
two small stand-ins below. Over HTTP, on the real database and broker, the ``integration`` tests beside this file."""

from __future__ import annotations

from datetime import date

import pytest

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.reference import Department, Role
from sites.app.commands import SitesCommands
from sites.app.gate import EntryRefusedError, EntryReport, GateCommands
from sites.app.streams import WriteSide
from sites.domain.model import SiteDetails, SiteStatus, WorkingPeriod
from sites.domain.zones import ZoneDefinition
from sites.projections.codes import REGISTRY_CODES
from tests.memory_db import MemoryDatabase
from tests.unit.test_sites_domain import details

TODAY = date(2026, 11, 28)
GATE = Principal(account_id="acc-S-1", role=Role.SITE_ADMIN, site_id="S-1", district="04")
ADMIN = Principal(account_id="adm-1", role=Role.ADMIN, department=Department.ECOLOGY, district="04")
PERIOD = WorkingPeriod(starts_on=TODAY, ends_on=date(2026, 12, 31))


class Accounts:
    """The gateway making a site's admin account (its own checks of the SMS code and password are its tests')."""

    def __init__(self) -> None:
        self.made: list[str] = []

    async def create_site_admin(self, *, site_code: str, **_: object) -> str:
        self.made.append(site_code)
        return f"acc-{site_code}"


class Registry:
    """The registry asked before a refusal that rests on its facts: here it cannot be reached."""

    async def gate_facts(self, code: str) -> dict | None:
        return None


@pytest.fixture
async def write() -> WriteSide:
    write = WriteSide(MemoryDatabase(), InMemoryEventStore())
    await write.ensure_indexes()
    await write.db[REGISTRY_CODES].insert_one({  # the copy of the registry's codes, as its projection leaves it
        "_id": "machine-m1", "codes": ["4-N04ABCDE"], "code": "4-N04ABCDE", "status": "issued", "stage": "4",
        "category": "excavator", "fuel": "diesel", "brand": "三一", "model": "SY215C"})
    return write


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture
def sites(write, accounts) -> SitesCommands:
    return SitesCommands(write, accounts)


@pytest.fixture
def gate(write) -> GateCommands:
    return GateCommands(write, Registry(), today=lambda: TODAY)


async def register(sites: SitesCommands, site_code: str = "S-1", **overrides):
    return await sites.register_site(site_code=site_code, details=SiteDetails(**details(**overrides)),
                                     status=SiteStatus.IN_CONSTRUCTION, password="x", sms_code="123456")


async def test_register_update_and_change_a_sites_status(sites, accounts):
    site = await register(sites)
    assert site.admin_account_id == "acc-S-1" and site.version == 1
    with pytest.raises(Conflict) as twice:
        await register(sites)
    assert twice.value.code == "duplicate_site_code" and accounts.made == ["S-1"]  # no second account
    with pytest.raises(ValidationFailed):  # a finished site is not registered, and no account is made for it
        await sites.register_site(site_code="S-2", details=SiteDetails(**details()), status=SiteStatus.COMPLETED,
                                  password="x", sms_code="1")
    assert accounts.made == ["S-1"]
    updated = await sites.update_site(GATE, "S-1", SiteDetails(**details(name="新名称")))
    assert updated.details.name == "新名称" and updated.version == 2
    with pytest.raises(Forbidden):
        await sites.update_site(GATE.model_copy(update={"site_id": "S-9"}), "S-1", SiteDetails(**details()))
    suspended = await sites.change_status(ADMIN.model_copy(update={"department": Department.TRANSPORT}), "S-1",
                                          SiteStatus.SUSPENDED, "整改")
    assert suspended.status is SiteStatus.SUSPENDED and suspended.suspended_by_staff


async def test_define_and_change_a_zone(sites):
    zone = await sites.define_zone(ADMIN, ZoneDefinition(name="渝中禁用区", district="04", kind="district"))
    assert zone.active and zone.version == 1
    changed = await sites.change_zone(ADMIN, zone.id, ZoneDefinition(name="渝中禁用区", district="04", kind="district"),
                                      active=False)
    assert not changed.active and changed.version == 2
    with pytest.raises(Forbidden):
        await sites.define_zone(GATE, ZoneDefinition(name="x", district="04", kind="district"))


async def test_scan_enter_exit_and_a_site_with_a_machine_inside_is_not_completed(sites, gate):
    await register(sites)
    preview = await gate.preview(GATE, "S-1", "4-N04ABCDE")
    assert preview["admitted"] and preview["colour"] == "blue"
    entered = await gate.enter(GATE, "S-1", EntryReport(scanned="NRMM:1:4-N04ABCDE", working_period=PERIOD),
                               request_key="k-1")
    assert entered["admitted"] and entered["stay_id"]
    again = await gate.enter(GATE, "S-1", EntryReport(scanned="NRMM:1:4-N04ABCDE", working_period=PERIOD),
                             request_key="k-1")
    assert again["replayed"] and again["stay_id"] == entered["stay_id"]  # a retried request: recorded once
    with pytest.raises(Conflict) as inside:
        await sites.change_status(GATE, "S-1", SiteStatus.COMPLETED, None)  # rule E2
    assert inside.value.code == "machines_still_inside"
    left = await gate.exit(GATE, "S-1", "4-N04ABCDE")
    assert left["stay_id"] == entered["stay_id"]
    completed = await sites.change_status(GATE, "S-1", SiteStatus.COMPLETED, None)
    assert completed.status is SiteStatus.COMPLETED
    with pytest.raises(Conflict) as not_inside:
        await gate.exit(GATE, "S-1", "4-N04ABCDE")
    assert not_inside.value.code == "not_inside"


async def test_refusals_are_recorded_and_a_batch_answers_each_machine(sites, gate, write):
    await register(sites)
    with pytest.raises(EntryRefusedError) as unknown:  # not in the copy, and the registry cannot be asked
        await gate.enter(GATE, "S-1", EntryReport(scanned="4-N04ZZZZZ", working_period=PERIOD))
    assert unknown.value.result["reason"] == "registry_unreachable" and unknown.value.result["recorded"]
    with pytest.raises(ValidationFailed) as malformed:
        await gate.enter(GATE, "S-1", EntryReport(scanned="hello", working_period=PERIOD))
    assert malformed.value.code == "malformed_code" and malformed.value.details["recorded"]
    batch = await gate.enter_batch(GATE, "S-1", [EntryReport(scanned="4-N04ABCDE", working_period=PERIOD),
                                                 EntryReport(scanned="hello", working_period=PERIOD)])
    assert (batch["admitted"], batch["refused"]) == (1, 1)
    refusals = [c.stream_id async for c in write.store.read_all() if c.stream_id.startswith("refusal-")]
    assert len(refusals) == 3  # the unknown code, the malformed scan, the batch's malformed scan
