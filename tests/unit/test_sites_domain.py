"""The sites service's domain, pure: site rules (E1), the gate's decision (E2-E4, C3), zones, presence."""

from datetime import date

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from nrmm_kernel.codes import parse_code
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed
from nrmm_kernel.reference import Department
from sites.domain.events import MachineEntered, MachineOnTwoSites
from sites.domain.gate import ActiveZone, MachinePresence, SiteAtGate, decide, facts_from, held_code
from sites.domain.model import GateColour, SiteDetails, SiteStatus, WorkingPeriod, check_site_code
from sites.domain.site import Site
from sites.domain.zones import SiteLocation, ZoneDefinition, covers
from tests.registry.fixtures import credit_code

TODAY = date(2026, 11, 28)
SQUARE = {"type": "Polygon", "coordinates": [[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.6],
                                              [106.5, 29.5]]]}


def details(**overrides) -> dict:
    return {
        "name": "轨道交通18号线土建3标", "company": {"name": "中建某局", "credit_code": credit_code()},
        "district": "04", "category": "transport_works", "address": {"street": "解放碑街道", "detail": "民族路 1 号"},
        "starts_on": "2026-01-01", "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": "13900001111"},
        **overrides,
    }


def site_at(district="04", street="解放碑街道", status=SiteStatus.IN_CONSTRUCTION, lon=None, lat=None, code="S-1"):
    return SiteAtGate(site_code=code, district=district, department="transport", status=status,
                      location=SiteLocation(district=district, street=street, longitude=lon, latitude=lat))


def zone(kind="district", district="04", **kw) -> ActiveZone:
    return ActiveZone(zone_id="z1", version=1, definition=ZoneDefinition(name="渝中禁用区", district=district,
                                                                           kind=kind, **kw))


def registry_doc(stage="4", status="issued", fuel="diesel", code=None):
    return {"status": status, "category": "excavator", "fuel": fuel, "brand": "三一", "model": "SY215C",
            "code": code}


def verdict(code_text="4-N04ABCDE", doc=..., zones=(), inside=(), allow_two_sites=False, site=None):
    code = parse_code(code_text)
    doc = registry_doc(code.stage) if doc is ... else doc
    facts = facts_from(code, doc, None)
    return decide(site=site or site_at(), code=code, facts=facts, current_code=(doc or {}).get("code") or code.text,
                  zones=list(zones), inside=list(inside), allow_two_sites=allow_two_sites)


def test_a_site_category_names_its_department_and_other_needs_one():
    assert SiteDetails(**details()).department is Department.TRANSPORT
    assert SiteDetails(**details(category="building")).department is Department.HOUSING
    assert SiteDetails(**details(category="other", department="state_assets")).department is Department.STATE_ASSETS
    with pytest.raises(ValidationError, match="department_required"):
        SiteDetails(**details(category="other"))


def test_site_details_are_checked():
    for bad, error in [({"district": "42"}, "unknown_district"), ({"ends_on": "2025-01-01"}, "dates_reversed"),
                       ({"company": {"name": "x", "credit_code": "91500000MA5U00000X"}}, "invalid_credit_code"),
                       ({"manager": {"name": "x", "mobile": "123"}}, "invalid_mobile")]:
        with pytest.raises(ValidationError, match=error):
            SiteDetails(**details(**bad))


def test_a_site_code_is_its_admins_username_so_never_a_mobile_number():
    assert check_site_code(" cq-2026-001 ", registering=True) == "CQ-2026-001"
    for bad in ("13800138000", "a/b", "x"):
        with pytest.raises(PydanticCustomError):
            check_site_code(bad, registering=True)
    assert check_site_code("13800138000") == "13800138000"  # a site that has it already is still reached


def test_colours_for_the_gate_screen():
    assert verdict("D-N04ABCDE", doc=registry_doc("D", fuel="electric")).colour is GateColour.GREEN
    assert verdict("4-N04ABCDE").colour is GateColour.BLUE
    assert verdict("3-N04ABCDE").colour is GateColour.BLUE
    assert verdict("2-N04ABCDE").colour is GateColour.YELLOW
    assert verdict("X-N04ABCDE").colour is GateColour.YELLOW
    refused = verdict("4-N04ABCDE", doc=None)
    assert refused.colour is GateColour.RED and refused.reason == "unknown_code" and not refused.admitted


def test_a_china_one_machine_is_refused_inside_a_zone_and_admitted_outside():  # rule E4
    inside_zone = verdict("1-N04ABCDE", zones=[zone()])
    assert not inside_zone.admitted and inside_zone.reason == "high_emission_in_zone"
    assert "渝中禁用区" in inside_zone.message and inside_zone.zones[0].zone_id == "z1"
    elsewhere = verdict("1-N05ABCDE", zones=[zone()], site=site_at(district="05"))
    assert elsewhere.admitted and elsewhere.colour is GateColour.YELLOW and elsewhere.zones == []
    assert verdict("4-N04ABCDE", zones=[zone()]).admitted  # China IV is not high emission
    assert not verdict("X-N04ABCDE", zones=[zone()]).admitted  # X counts until proven otherwise


def test_zones_by_streets_and_polygons():
    streets = zone("streets", streets=["解放碑 街道", "朝天门街道"])
    assert covers(streets.definition, site_at().location)
    assert not covers(streets.definition, site_at(street="七星岗街道").location)
    poly = zone("polygons", geometry=SQUARE)
    assert covers(poly.definition, site_at(lon=106.55, lat=29.55).location)
    assert not covers(poly.definition, site_at(lon=106.65, lat=29.55).location)
    assert covers(poly.definition, site_at().location)  # no coordinates: it cannot be placed outside (rule E4)
    unplaced = verdict("1-N04ABCDE", zones=[poly])
    assert unplaced.reason == "high_emission_in_zone" and "未登记坐标" in unplaced.message
    assert verdict("1-N04ABCDE", zones=[poly], site=site_at(lon=106.65, lat=29.55)).admitted
    stricter = zone(high_emission_stages=["1", "2", "x"])
    assert stricter.definition.high_emission_stages == ["1", "2", "X"]
    assert not verdict("2-N04ABCDE", zones=[stricter]).admitted


@pytest.mark.parametrize("bad, error", [
    ({"kind": "streets"}, "streets_required"),
    ({"kind": "polygons"}, "geometry_required"),
    ({"kind": "polygons", "geometry": {"type": "Point", "coordinates": [106.5, 29.5]}}, "invalid_geometry"),
    ({"kind": "polygons", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
     "invalid_geometry"),
    ({"kind": "district", "geometry": SQUARE}, "geometry_not_expected"),
    ({"kind": "district", "high_emission_stages": ["D"]}, "invalid_stage"),
    ({"kind": "district", "district": "00"}, "unknown_district"),
])
def test_bad_zones_are_refused(bad, error):
    with pytest.raises(ValidationError, match=error):
        ZoneDefinition(**{"name": "z", "district": "04", **bad})


def test_codes_not_in_force_are_refused():
    assert verdict(doc=registry_doc(status="cancelled")).reason == "code_cancelled"
    superseded = verdict("3-N04ABCDE", doc=registry_doc(code="4-N04ABCDE"))
    assert superseded.reason == "code_superseded" and superseded.current_code == "4-N04ABCDE"
    assert verdict(site=site_at(status=SiteStatus.SUSPENDED)).reason == "site_not_active"


def test_another_provinces_code_is_admitted_by_its_shape_and_stage():  # rule C3
    admitted = verdict("3-A12B3C4D", doc=None)
    assert admitted.admitted and admitted.machine.province == "A" and admitted.machine.stage == "3"
    assert admitted.machine.registry_status is None and "外省" in admitted.message
    assert not verdict("1-A12B3C4D", doc=None, zones=[zone()]).admitted


def test_another_provinces_code_typed_with_another_stage_than_declared_is_refused():  # rule C3
    code = parse_code("4-A01B3C4D")
    facts = facts_from(code, None, None)
    refused = decide(site=site_at(), code=code, facts=facts, current_code="1-A01B3C4D", zones=[], inside=[],
                     allow_two_sites=False)
    assert (refused.reason, refused.current_code) == ("stage_not_declared", "1-A01B3C4D")
    assert decide(site=site_at(), code=code, facts=facts, current_code=code.text, zones=[], inside=[],
                  allow_two_sites=False).admitted
    # what the bureau confirmed holds; nothing confirmed, or the scanned code among it, the scanned code does
    assert held_code(code, ["1-A01B3C4D"]) == "1-A01B3C4D"
    assert held_code(code, []) == held_code(code, ["1-A01B3C4D", "4-A01B3C4D"]) == "4-A01B3C4D"


def test_a_machine_inside_another_site_is_an_anomaly_refused_or_allowed_by_configuration():
    assert verdict(inside=["S-1"]).reason == "already_inside"
    refused = verdict(inside=["S-9"])
    assert refused.reason == "on_another_site" and refused.inside_elsewhere == ["S-9"]
    allowed = verdict(inside=["S-9"], allow_two_sites=True)
    assert allowed.admitted and allowed.inside_elsewhere == ["S-9"]
    presence = MachinePresence("N04ABCDE")
    presence.enter(verdict=allowed, site=site_at(), stay_id="stay-1",
                   working_period=WorkingPeriod(starts_on=TODAY, ends_on=TODAY), today=TODAY)
    assert [type(e) for e in presence.pending] == [MachineEntered, MachineOnTwoSites]


def test_entry_and_exit_open_and_close_a_stay():
    presence = MachinePresence("N04ABCDE")
    period = WorkingPeriod(starts_on=TODAY, ends_on=date(2026, 12, 31))
    presence.enter(verdict=verdict(), site=site_at(), stay_id="stay-1", working_period=period, today=TODAY,
                   reported_stage="3")
    entered = presence.pending[0]
    assert entered.stage_mismatch and entered.colour == "blue" and presence.inside == {"S-1": "stay-1"}
    presence.exit(site_code="S-1", code="4-N04ABCDE", today=TODAY)
    assert presence.pending[-1].stay_id == "stay-1" and presence.inside == {}
    with pytest.raises(Conflict) as refused:
        presence.exit(site_code="S-1", code="4-N04ABCDE", today=TODAY)
    assert refused.value.code == "not_inside"


def test_a_site_with_machines_inside_cannot_be_completed_and_completed_is_final():
    site = Site.register("S-1", details=SiteDetails(**details()), status=SiteStatus.IN_CONSTRUCTION,
                         admin_account_id="acc-1")
    with pytest.raises(Conflict) as refused:
        site.change_status(SiteStatus.COMPLETED, inside=["4-N04ABCDE", "3-N04ABCDF"])
    assert refused.value.code == "machines_still_inside"
    assert refused.value.details["inside"] == ["3-N04ABCDF", "4-N04ABCDE"]
    site.change_status(SiteStatus.SUSPENDED, inside=[])
    site.change_status(SiteStatus.COMPLETED, inside=[])
    with pytest.raises(Conflict):
        site.change_status(SiteStatus.IN_CONSTRUCTION, inside=[])
    assert Site.rehydrate("S-1", site.pending).status is SiteStatus.COMPLETED
    with pytest.raises(ValidationFailed) as completed:  # a finished site is not registered
        Site.register("S-2", details=SiteDetails(**details()), status=SiteStatus.COMPLETED, admin_account_id="acc-2")
    assert (completed.value.code, completed.value.field) == ("invalid_status", "status")


def test_only_staff_move_a_site_or_change_its_department_and_nobody_changes_its_district():  # rules D3, E4
    site = Site.register("S-1", details=SiteDetails(**details()), status=SiteStatus.IN_CONSTRUCTION,
                         admin_account_id="acc-1")
    site.update(SiteDetails(**details(name="新名称", address={"street": "解放碑街道", "detail": "民族路 2 号"})),
                by_site_admin=True)
    assert site.pending[-1].changed_fields == ["address", "name"]
    # coordinates recorded the first time: a site that polygon zones took to be inside them is placed
    placed = dict(name="新名称", address={"street": "解放碑街道", "detail": "民族路 2 号"},
                  coordinates={"longitude": 106.58, "latitude": 29.56})
    site.update(SiteDetails(**details(**placed)), by_site_admin=True)
    for change, field in ((dict(address={"street": "朝天门街道", "detail": "民族路 2 号"}), "address.street"),
                          (dict(coordinates={"longitude": 106.70, "latitude": 29.56}), "coordinates"),
                          (dict(coordinates=None), "coordinates"),
                          (dict(department="housing"), "department")):
        with pytest.raises(Forbidden) as refused:
            site.update(SiteDetails(**details(**{**placed, **change})), by_site_admin=True)
        assert (refused.value.code, refused.value.field) == ("staff_only_change", f"details.{field}")
    site.update(SiteDetails(**details(name="新名称", address={"street": "朝天门街道", "detail": "1 号"})),
                by_site_admin=False)
    with pytest.raises(ValidationFailed) as moved:
        site.update(SiteDetails(**details(district="05")), by_site_admin=False)
    assert (moved.value.code, moved.value.field) == ("district_fixed", "details.district")


def test_a_suspension_imposed_by_staff_is_lifted_by_staff_only():
    site = Site.register("S-1", details=SiteDetails(**details()), status=SiteStatus.IN_CONSTRUCTION,
                         admin_account_id="acc-1")
    site.change_status(SiteStatus.SUSPENDED, inside=[], reason="整改", by_site_admin=False)
    for status in (SiteStatus.IN_CONSTRUCTION, SiteStatus.COMPLETED):
        with pytest.raises(Forbidden) as refused:
            site.change_status(status, inside=[], by_site_admin=True)
        assert refused.value.code == "suspended_by_staff"
    site.change_status(SiteStatus.IN_CONSTRUCTION, inside=[], by_site_admin=False)
    # the site's own suspension is its own to lift
    site.change_status(SiteStatus.SUSPENDED, inside=[], by_site_admin=True)
    replayed = Site.fold("S-1", site.pending)
    replayed.change_status(SiteStatus.IN_CONSTRUCTION, inside=[], by_site_admin=True)
    assert [e.by_staff for e in site.pending[1:]] == [True, True, False]
