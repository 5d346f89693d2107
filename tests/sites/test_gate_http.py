"""End to end over HTTP on real infrastructure: codes from the registry reach the gate through Kafka; sites
register; machines enter and leave; restricted zones keep high-emission machines out (rules E1-E4, C3)."""

import asyncio
import uuid

import pytest

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import SERIAL_ALPHABET, qr_payload
from nrmm_kernel.reference import Department, Role
from tests.kafka_helpers import read_topic
from tests.platform import eventually
from tests.registry.fixtures import credit_code, registrant
from tests.sites.conftest import reported


def test_issued_code_enters_and_leaves_a_registered_site(platform, infra):
    p = platform
    code = p.issue_code(district="04", stage="4")
    site, admin = p.register_site(district="04")
    facts = p.known_at_gate(site, admin, code)  # the registry's CodeIssued arrived through Kafka
    assert facts["admitted"] and facts["colour"] == "blue" and facts["machine"]["category"] == "excavator"

    entered = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                           json={"qr": qr_payload(code), **reported(stage="4", machine_type="excavator")})
    assert entered.status_code == 201, entered.text
    stay = entered.json()["stay_id"]
    assert entered.json()["colour"] == "blue" and "准许进场" in entered.json()["message"]

    roster = eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 1).json()
    assert roster[0]["code"] == code and roster[0]["working_period"]["ends_on"] == "2027-06-30"

    again = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                         json={"code": code, **reported()})
    assert again.status_code == 409 and again.json()["code"] == "already_inside"

    left = p.sites.post(f"/api/sites/sites/{site}/exits", headers=admin, json={"qr": qr_payload(code)})
    assert left.status_code == 201 and left.json()["stay_id"] == stay
    eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: rows == [])
    history = eventually(p.sites, f"/api/sites/sites/{site}/movements", admin,
                         lambda rows: rows and rows[0].get("exited_at")).json()
    assert len(history) == 1 and history[0]["entered_at"] < history[0]["exited_at"]
    owner_view = p.sites.get(f"/api/sites/machines/{code}/stays", headers=p.token(Role.OWNER, "owner-gate"))
    assert owner_view.status_code == 200 and [s["site_code"] for s in owner_view.json()] == [site]
    stranger = p.sites.get(f"/api/sites/machines/{code}/stays", headers=p.token(Role.OWNER, "owner-else"))
    assert stranger.status_code == 403

    on_topic = asyncio.run(read_topic(infra.kafka_bootstrap, p.platform.topic("sites"), at_least=4))
    names = [e.event_name for e in on_topic if e.streamid == f"presence-{code.split('-', 1)[1]}"]
    assert names == ["MachineEntered", "MachineExited"]
    refused = [e for e in on_topic if e.event_name == "EntryRefused" and e.data["site_code"] == site]
    assert [e.data["reason"] for e in refused] == ["already_inside"]


def test_a_restricted_zone_keeps_a_china_one_machine_out_and_other_sites_admit_it(platform):
    p = platform
    old = p.issue_code(district="09", stage="1")
    zoned, zoned_admin = p.register_site(district="09", street="南坪街道")
    free, free_admin = p.register_site(district="10", street="北温泉街道")
    ecology = p.token(Role.REVIEWER, "eco-09", district="09")
    zone = p.sites.post("/api/sites/zones", headers=ecology,
                        json={"name": "南岸区禁用区", "district": "09", "kind": "streets", "streets": ["南坪街道"]})
    assert zone.status_code == 201, zone.text
    p.known_at_gate(zoned, zoned_admin, old, until=lambda d: d["reason"] == "high_emission_in_zone")

    refused = p.sites.post(f"/api/sites/sites/{zoned}/entries", headers=zoned_admin,
                           json={"code": old, **reported()})
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "high_emission_in_zone" and body["colour"] == "red" and "南岸区禁用区" in body["message"]
    assert body["zones"][0]["version"] == 1 and body["machine_code"] == old

    admitted = p.sites.post(f"/api/sites/sites/{free}/entries", headers=free_admin,
                            json={"code": old, **reported()})
    assert admitted.status_code == 201 and admitted.json()["colour"] == "yellow"

    # a district office manages only its own district's zones; other departments none
    other = p.sites.post("/api/sites/zones", headers=p.token(Role.REVIEWER, "eco-10", district="10"),
                         json={"name": "x", "district": "09", "kind": "district"})
    assert other.status_code == 403
    housing = p.sites.post("/api/sites/zones", json={"name": "x", "district": "09", "kind": "district"},
                           headers=p.token(Role.ADMIN, "hou-09", district="09", department=Department.HOUSING))
    assert housing.status_code == 403

    # lifting the zone: the same machine is admitted at the same gate; the refusal stays on record
    lifted = p.sites.put(f"/api/sites/zones/{zone.json()['zone_id']}", headers=ecology,
                         json={"definition": zone.json()["definition"], "active": False})
    assert lifted.status_code == 200 and lifted.json()["version"] == 2
    p.known_at_gate(zoned, zoned_admin, old, until=lambda d: d["reason"] == "on_another_site")
    refusals = eventually(p.sites, f"/api/sites/sites/{zoned}/refusals", zoned_admin, lambda rows: rows).json()
    assert refusals[0]["reason"] == "high_emission_in_zone"


def test_cancelled_malformed_and_other_province_codes_at_the_gate(platform):
    p = platform
    site, admin = p.register_site(district="11", street="龙溪街道")
    code = p.issue_code(owner="owner-scrap", district="11", stage="3")
    p.known_at_gate(site, admin, code)
    cancel = p.registry.post(f"/api/registry/machines/{code}/cancellation", headers=p.token(Role.OWNER, "owner-scrap"),
                             json={"reason": "scrapped", "occurred_on": "2026-11-20"})
    assert cancel.status_code == 200
    p.known_at_gate(site, admin, code, until=lambda d: d["reason"] == "code_cancelled")
    cancelled = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                             json={"code": code, **reported()})
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "code_cancelled"

    foreign = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                           json={"code": "3-A12B3C4D", **reported()})
    assert foreign.status_code == 201, foreign.text
    assert foreign.json()["machine"]["province"] == "A" and foreign.json()["machine"]["stage"] == "3"
    roster = eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: rows).json()
    assert roster[0]["other_province"] is True

    # (3-00123456: another province's code whose province character is a digit, no province: issue 13)
    for bad in ({"code": "4-N42ABCDE"}, {"code": "4-NO1ABCDE"}, {"qr": "https://example.com/x"},
                {"code": "3-00123456"}):
        malformed = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                                 json={**bad, **reported()})
        assert malformed.status_code == 422 and malformed.json()["code"] == "malformed_code", malformed.text
        assert malformed.json()["field"] == "code"
    reasons = eventually(p.sites, f"/api/sites/sites/{site}/refusals", admin, lambda rows: len(rows) == 5).json()
    assert sorted(r["reason"] for r in reasons) == ["code_cancelled"] + ["malformed_code"] * 4


@pytest.mark.parametrize("missing", ["machine_type", "emission_stage", "working_period"])
def test_an_entry_states_type_stage_and_working_period(platform, missing):  # rule E2
    p = platform
    site, admin = p.register_site(district="04")
    serial = "".join(SERIAL_ALPHABET[b % len(SERIAL_ALPHABET)] for b in uuid.uuid4().bytes[:7])
    body = {"code": f"3-A{serial}", **reported(stage="3")}  # a machine of its own for each case
    del body[missing]
    refused = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin, json=body)
    assert refused.status_code == 422 and refused.json()["field"] == missing, refused.text
    batch = p.sites.post(f"/api/sites/sites/{site}/entries/batch", headers=admin, json={"machines": [body]})
    assert batch.status_code == 422 and batch.json()["field"] == f"machines.0.{missing}", batch.text
    wrong = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                         json={**body, **reported(stage="3", machine_type="spaceship")})
    assert wrong.status_code == 422 and wrong.json()["field"] == "machine_type"
    admitted = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin, json={**body, **reported(stage="3")})
    assert admitted.status_code == 201, admitted.text  # the first entry of the machine: nothing refused was kept
    roster = eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: rows).json()
    assert (roster[0]["reported_category"], roster[0]["reported_stage"]) == ("excavator", "3")
    assert p.sites.get(f"/api/sites/sites/{site}/refusals", headers=admin).json() == []


def test_a_site_admin_reads_and_writes_only_their_site(platform):
    p = platform
    mine, admin = p.register_site(district="12", street="鱼洞街道")
    theirs, _ = p.register_site(district="12", street="鱼洞街道")
    for method, path, body in [
        ("GET", f"/api/sites/sites/{theirs}", None),
        ("GET", f"/api/sites/sites/{theirs}/roster", None),
        ("GET", f"/api/sites/sites/{theirs}/movements", None),
        ("POST", f"/api/sites/sites/{theirs}/entries", {"code": "3-A12B3C4D", **reported()}),
        ("POST", f"/api/sites/sites/{theirs}/exits", {"code": "3-A12B3C4D"}),
        ("POST", f"/api/sites/sites/{theirs}/status", {"status": "suspended"}),
    ]:
        response = p.sites.request(method, path, headers=admin, json=body)
        assert response.status_code == 403 and response.json()["code"] == "not_your_site", (path, response.text)
    listed = p.sites.get("/api/sites/sites", headers=admin).json()
    assert [s["site_code"] for s in listed] == [mine]


def test_completing_a_site_with_machines_inside_is_refused_with_their_list(platform):
    p = platform
    site, admin = p.register_site(district="13", street="凤城街道")
    inside = p.sites.post(f"/api/sites/sites/{site}/entries/batch", headers=admin, json={"machines": [
        {"code": "3-A22B3C4D", **reported()},
        {"code": "4-B22B3C4D", **reported()},
        {"code": "bad", **reported()},
    ]})
    assert inside.status_code == 200, inside.text
    assert inside.json()["admitted"] == 2 and inside.json()["refused"] == 1
    eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 2)
    done = p.sites.post(f"/api/sites/sites/{site}/status", headers=admin, json={"status": "completed"})
    assert done.status_code == 409 and done.json()["details"]["inside"] == ["3-A22B3C4D", "4-B22B3C4D"]
    for code in ("3-A22B3C4D", "4-B22B3C4D"):
        assert p.sites.post(f"/api/sites/sites/{site}/exits", headers=admin, json={"code": code}).status_code == 201
    eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: rows == [])
    done = p.sites.post(f"/api/sites/sites/{site}/status", headers=admin, json={"status": "completed"})
    assert done.status_code == 200, done.text
    # at once, not when the projection catches up: the gate reads the site's own stream
    closed = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                          json={"code": "3-A22B3C4D", **reported()})
    assert closed.status_code == 409 and closed.json()["code"] == "site_not_active"
    eventually(p.sites, f"/api/sites/sites/{site}", admin, lambda d: d["status"] == "completed")


def test_a_machine_scanned_in_while_inside_another_site_is_an_anomaly_for_inspectors(platform):
    p = platform
    first, first_admin = p.register_site(district="14", street="几江街道")
    second, second_admin = p.register_site(district="14", street="几江街道")
    code = "2-C12B3C4D"
    assert p.sites.post(f"/api/sites/sites/{first}/entries", headers=first_admin,
                        json={"code": code, **reported()}).status_code == 201
    refused = p.sites.post(f"/api/sites/sites/{second}/entries", headers=second_admin,
                           json={"code": code, **reported()})
    assert refused.status_code == 409 and refused.json()["code"] == "on_another_site"
    assert refused.json()["inside_elsewhere"] == [first]
    inspector = p.token(Role.INSPECTOR, "insp-14", district="14")
    anomalies = eventually(p.sites, "/api/sites/anomalies", inspector, lambda rows: rows).json()
    assert anomalies[0]["code"] == code and anomalies[0]["inside_site_codes"] == [first]
    assert p.sites.get("/api/sites/anomalies", headers=p.token(Role.INSPECTOR, "insp-15", district="15")).json() == []
    assert p.sites.get("/api/sites/anomalies", headers=second_admin).status_code == 403


def test_a_machine_keeps_its_place_when_its_code_changes_stage(platform):  # rule C7
    p = platform
    first, first_admin = p.register_site(district="14", street="几江街道")
    second, second_admin = p.register_site(district="14", street="几江街道")
    old, corrected = "2-C55B3C4D", "3-C55B3C4D"
    assert p.sites.post(f"/api/sites/sites/{first}/entries", headers=first_admin,
                        json={"code": old, **reported()}).status_code == 201
    refused = p.sites.post(f"/api/sites/sites/{second}/entries", headers=second_admin,
                           json={"code": corrected, **reported()})
    assert refused.status_code == 409 and refused.json()["inside_elsewhere"] == [first], refused.text
    left = p.sites.post(f"/api/sites/sites/{first}/exits", headers=first_admin, json={"code": corrected})
    assert left.status_code == 201, left.text
    assert p.sites.post(f"/api/sites/sites/{second}/entries", headers=second_admin,
                        json={"code": corrected, **reported()}).status_code == 201
    auditor = p.token(Role.AUDITOR, "aud-14", district="14")
    stays = eventually(p.sites, f"/api/sites/machines/{corrected}/stays", auditor, lambda rows: len(rows) == 2)
    assert [(s["site_code"], s["code"]) for s in stays.json()] == [(second, corrected), (first, old)]


def test_site_registration_errors_are_clear_and_store_nothing(platform):
    p = platform
    site, _ = p.register_site(district="15", street="合阳城街道")
    body = {
        "site_code": site, "password": "Site-Passw0rd", "sms_code": "123456",
        "details": {"name": "x", "company": {"name": "x", "credit_code": "91500000MA5U00000X"}, "district": "15",
                    "category": "building", "address": {"street": "x", "detail": "x"}, "starts_on": "2026-01-01",
                    "ends_on": "2027-01-01", "manager": {"name": "x", "mobile": "13700001234"}},
    }
    bad_credit = p.gateway.post("/api/sites/registrations", json=body)
    assert bad_credit.status_code == 422 and bad_credit.json()["field"] == "details.company.credit_code"
    body["details"]["company"]["credit_code"] = credit_code()
    taken = p.gateway.post("/api/sites/registrations", json=body)
    assert taken.status_code == 409 and taken.json()["code"] == "duplicate_site_code"
    body["site_code"] = "S-NEW-ONE"
    wrong_sms = p.gateway.post("/api/sites/registrations", json=body)
    assert wrong_sms.status_code in (400, 422) and wrong_sms.json()["field"] == "admin.sms_code", wrong_sms.text
    missing = p.sites.get("/api/sites/sites/S-NEW-ONE", headers=p.token(Role.AUDITOR, "aud"))
    assert missing.status_code == 404


def test_an_identical_zone_is_refused_naming_the_zone_that_has_it(platform):  # rule E4
    p = platform
    ecology = p.token(Role.REVIEWER, "eco-03", district="03")
    street = f"测试街道{uuid.uuid4().hex[:6]}"
    definition = {"name": "万州城区", "district": "03", "kind": "streets", "streets": [street]}
    first = p.sites.post("/api/sites/zones", headers=ecology, json=definition)
    assert first.status_code == 201, first.text
    # the same area and stages under another name (its street listed twice) is the same zone
    again = p.sites.post("/api/sites/zones", headers=ecology, json={**definition, "name": "万州城区 (重复)",
                                                                    "streets": [street, street]})
    assert again.status_code == 409 and again.json()["code"] == "zone_exists", again.text
    assert again.json()["details"]["zone_id"] == first.json()["zone_id"]
    stricter = p.sites.post("/api/sites/zones", headers=ecology,
                            json={**definition, "high_emission_stages": ["1", "2", "X"]})
    assert stricter.status_code == 201, stricter.text
    lifted = p.sites.put(f"/api/sites/zones/{first.json()['zone_id']}", headers=ecology,
                         json={"definition": definition, "active": False})
    assert lifted.status_code == 200, lifted.text
    assert p.sites.post("/api/sites/zones", headers=ecology, json=definition).status_code == 201


def test_a_polygon_zone_is_stored_and_keeps_a_china_one_machine_out_of_sites_inside_it(platform):  # rule E4
    """A zone drawn as a polygon (the console draws one): stored on the real database (FerretDB keeps no nested
    arrays, so events and the read model hold the GeoJSON as text), read back as GeoJSON, applied at the gate."""
    p = platform
    old = p.issue_code(district="19", stage="1")
    inside, inside_admin = p.register_site(district="19", street="龙岗街道",
                                           coordinates={"longitude": 105.72, "latitude": 29.70})
    outside, outside_admin = p.register_site(district="19", street="龙岗街道",
                                             coordinates={"longitude": 105.90, "latitude": 29.90})
    ring = [[105.70, 29.68], [105.75, 29.68], [105.75, 29.73], [105.70, 29.73], [105.70, 29.68]]
    geometry = {"type": "Polygon", "coordinates": [ring]}
    ecology = p.token(Role.REVIEWER, "eco-19", district="19")
    zone = p.sites.post("/api/sites/zones", headers=ecology,
                        json={"name": "大足城区", "district": "19", "kind": "polygons", "geometry": geometry})
    assert zone.status_code == 201, zone.text
    assert zone.json()["definition"]["geometry"] == geometry
    listed = eventually(p.sites, "/api/sites/zones?district=19", ecology, lambda rows: rows).json()
    assert listed[0]["definition"]["geometry"] == geometry and listed[0]["definition"]["kind"] == "polygons"

    p.known_at_gate(inside, inside_admin, old, until=lambda d: d["reason"] == "high_emission_in_zone")
    refused = p.sites.post(f"/api/sites/sites/{inside}/entries", headers=inside_admin, json={"code": old, **reported()})
    assert refused.status_code == 409 and refused.json()["code"] == "high_emission_in_zone", refused.text
    admitted = p.sites.post(f"/api/sites/sites/{outside}/entries", headers=outside_admin,
                            json={"code": old, **reported()})
    assert admitted.status_code == 201, admitted.text

    # changed through PUT with the definition as GET gave it; text that is no JSON is a 422 naming the field
    moved = [[105.85, 29.85], [105.95, 29.85], [105.95, 29.95], [105.85, 29.85]]
    changed = p.sites.put(f"/api/sites/zones/{zone.json()['zone_id']}", headers=ecology, json={
        "definition": {**listed[0]["definition"], "geometry": {"type": "Polygon", "coordinates": [moved]}}})
    assert changed.status_code == 200 and changed.json()["version"] == 2, changed.text
    garbled = p.sites.post("/api/sites/zones", headers=ecology,
                           json={"name": "x", "district": "19", "kind": "polygons", "geometry": "{not json"})
    assert garbled.status_code == 422 and "geometry" in garbled.json()["field"], garbled.text


def test_a_site_moved_into_a_zone_refuses_what_it_admitted_before(platform):
    p = platform
    site, admin = p.register_site(district="16", street="中山路街道")
    ecology = p.token(Role.REVIEWER, "eco-16", district="16")
    zone = p.sites.post("/api/sites/zones", headers=ecology,
                        json={"name": "永川城区", "district": "16", "kind": "streets", "streets": ["胜利路街道"]})
    assert zone.status_code == 201
    code = "1-D12B3C4D"
    assert p.sites.post(f"/api/sites/sites/{site}/scans", headers=admin, json={"code": code}).json()["admitted"]
    details = p.sites.get(f"/api/sites/sites/{site}", headers=admin).json()["details"]
    elsewhere = {**details, "address": {"street": "胜利路街道", "detail": "2 号"}}
    # the site's own admin cannot walk it out of (or into) a zone; the department's administrator can
    escape = p.sites.put(f"/api/sites/sites/{site}", headers=admin, json=elsewhere)
    assert escape.status_code == 403 and escape.json()["code"] == "staff_only_change", escape.text
    assert escape.json()["field"] == "details.address.street"
    housing_admin = p.token(Role.ADMIN, "adm-16", district="16", department=Department.HOUSING)
    other_district = p.sites.put(f"/api/sites/sites/{site}", headers=housing_admin,
                                 json={**elsewhere, "district": "17"})
    assert other_district.status_code == 422 and other_district.json()["field"] == "details.district"
    moved = p.sites.put(f"/api/sites/sites/{site}", headers=housing_admin, json=elsewhere)
    assert moved.status_code == 200 and moved.json()["version"] == 2
    p.known_at_gate(site, admin, code, until=lambda d: d["reason"] == "high_emission_in_zone")
    history = eventually(p.sites, f"/api/sites/sites/{site}", admin, lambda d: len(d["history"]) == 2).json()["history"]
    assert [h["event"] for h in history] == ["SiteRegistered", "SiteUpdated"]
    assert history[1]["changed_fields"] == ["address"]


def test_a_supervision_engineer_reads_the_site_they_supervise_and_no_other(platform):  # rule E6
    p = platform
    site, _ = p.register_site(district="12", street="鱼洞街道")
    other, _ = p.register_site(district="12", street="鱼洞街道")
    engineer = {"username": f"eng-{uuid.uuid4().hex[:8]}", "password": "Engineer-Passw0rd"}
    # made under the site, which the sites service judges; the gateway makes no engineer on its own
    via_gateway = p.gateway.post("/api/auth/staff", headers=p.admin,
                                 json={**engineer, "role": "supervision_engineer", "site_id": site, "district": "12"})
    assert via_gateway.status_code == 422 and via_gateway.json()["code"] == "engineer_via_site", via_gateway.text
    transport_admin = p.token(Role.ADMIN, "adm-tra-12", district="12", department=Department.TRANSPORT)
    path = f"/api/sites/sites/{site}/supervision-engineers"
    refused = p.sites.post(path, headers=transport_admin, json=engineer)
    assert refused.status_code == 403 and refused.json()["code"] == "outside_jurisdiction", refused.text
    elsewhere = p.sites.post(path, headers=p.token(Role.ADMIN, "adm-05", district="05",
                                                   department=Department.ECOLOGY), json=engineer)
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "outside_jurisdiction", elsewhere.text
    unknown = p.sites.post("/api/sites/sites/S-NOWHERE/supervision-engineers", headers=p.admin, json=engineer)
    assert unknown.status_code == 404, unknown.text
    weak = p.sites.post(path, headers=p.admin, json={**engineer, "password": "short"})
    assert weak.status_code == 422 and weak.json()["field"] == "password", weak.text
    made = p.sites.post(path, headers=p.admin, json=engineer)
    assert made.status_code == 201, made.text
    shown = made.json()
    assert (shown["role"], shown["district"], shown["site_id"]) == ("supervision_engineer", "12", site)
    again = p.sites.post(path, headers=p.admin, json=engineer)
    assert again.status_code == 409 and again.json()["code"] == "username_taken", again.text
    signed_in = p.login(engineer["username"], engineer["password"])
    assert p.sites.get(f"/api/sites/sites/{site}/roster", headers=signed_in).status_code == 200
    assert p.sites.get(f"/api/sites/sites/{other}", headers=signed_in).json()["code"] == "outside_jurisdiction"
    listed = p.sites.get("/api/sites/sites", headers=signed_in, params={"district": "12"}).json()
    assert [s["site_code"] for s in listed] == [site]


def test_a_registration_whose_site_was_not_recorded_completes_when_retried(platform):  # rule E1
    p = platform
    code, mobile = f"S-{uuid.uuid4().hex[:8].upper()}", f"139{uuid.uuid4().int % 10**8:08d}"
    # what a registration leaves when the sites service fails between the gateway's account and its own record
    orphan = p.gateway.post("/api/auth/site-admins", headers=p.token(Role.SERVICE, "svc-sites"), json={
        "username": code, "mobile": mobile, "password": "First-Passw0rd", "sms_code": p.sms_code(mobile),
        "site_id": code, "district": "04"})
    assert orphan.status_code == 201, orphan.text
    # another phone does not take the account up
    with pytest.raises(AssertionError, match="username_taken"):
        p.register_site(code=code)
    site, admin = p.register_site(code=code, mobile=mobile)
    assert p.sites.get(f"/api/sites/sites/{site}", headers=admin).json()["admin_account_id"] \
        == orphan.json()["account_id"]


def test_another_provinces_machine_is_judged_by_the_stage_it_was_declared_with(platform):  # rules C3, E4
    p = platform
    site, admin = p.register_site(district="15")
    declared, typed = "1-A15B3C4D", "4-A15B3C4D"
    # an owner's declarations hold nobody to a stage: anyone may declare any code, under every stage
    owner = p.token(Role.OWNER, "owner-ext")
    for stage in "1234":
        assert p.registry.post("/api/registry/external-machines", headers=owner,
                               json={"code": f"{stage}-A15B3C4D"}).status_code == 201
    assert p.known_at_gate(site, admin, typed)["admitted"]
    # the ecology bureau's word on a code, made on the papers, is the stage the gate holds to, even when an
    # owner declared that code first
    reviewer = p.token(Role.REVIEWER, "rev-ext", district="15")
    assert p.registry.post("/api/registry/external-machines", headers=reviewer,
                           json={"code": declared}).status_code == 200
    refused = p.known_at_gate(site, admin, typed, until=lambda d: d["reason"] == "stage_not_declared")
    assert refused["current_code"] == declared and not refused["admitted"]
    assert p.sites.post(f"/api/sites/sites/{site}/scans", headers=admin,
                        json={"code": "2-A15B3C4D"}).json()["reason"] == "stage_not_declared"
    assert p.sites.post(f"/api/sites/sites/{site}/scans", headers=admin, json={"code": declared}).json()["admitted"]


def test_a_new_owner_sees_the_machines_site_history_from_the_change_on(platform):  # rule C6
    p = platform
    site, admin = p.register_site(district="04")
    code = p.issue_code(owner="owner-before", district="04", stage="4")
    p.known_at_gate(site, admin, code)
    for _ in range(2):
        assert p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                            json={"code": code, **reported()}).status_code == 201
        assert p.sites.post(f"/api/sites/sites/{site}/exits", headers=admin, json={"code": code}).status_code == 201
    before = p.token(Role.OWNER, "owner-before")
    eventually(p.sites, f"/api/sites/machines/{code}/stays", before, lambda rows: len(rows) == 2
               and all(r.get("exited_at") for r in rows))
    today = today_in_chongqing().isoformat()
    # a site admin's mobile names no owner (rule C6: machines pass to owner accounts only)
    site_admin_mobile = p.gateway.get("/api/auth/me", headers=admin).json()["mobile"]
    staff = p.registry.post(f"/api/registry/machines/{code}/owner-change", headers=before,
                            json={"new_owner_mobile": site_admin_mobile, "transferred_on": today})
    assert staff.status_code == 422 and staff.json()["code"] == "new_owner_not_found", staff.text
    _, mobile, after = p.register_owner()
    changed = p.registry.post(f"/api/registry/machines/{code}/owner-change", headers=before,
                              json={"new_owner_mobile": mobile, "transferred_on": today})
    assert changed.status_code == 200, changed.text
    assert p.sites.get(f"/api/sites/machines/{code}/stays", headers=after).status_code == 403  # not yet theirs
    accepted = p.registry.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=after,
                               json={"registrant": registrant(name="李四")})
    assert accepted.status_code == 200, accepted.text
    eventually(p.sites, f"/api/sites/machines/{code}/stays", after, lambda rows: rows == [])
    assert p.sites.get(f"/api/sites/machines/{code}/stays", headers=before).status_code == 403
    assert p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                        json={"code": code, **reported()}).status_code == 201
    eventually(p.sites, f"/api/sites/machines/{code}/stays", after, lambda rows: len(rows) == 1)


def test_an_entry_sent_again_gets_its_first_answer_and_nothing_is_recorded_twice(platform):
    p = platform
    site, admin = p.register_site(district="18")
    code = "3-C18B3C4D"
    key = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    first = p.sites.post(f"/api/sites/sites/{site}/entries", headers=key, json={"code": code,
                                                                             **reported()})
    again = p.sites.post(f"/api/sites/sites/{site}/entries", headers=key, json={"code": code,
                                                                             **reported()})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["stay_id"] == first.json()["stay_id"] and again.json()["replayed"]
    assert again.json()["colour"] == first.json()["colour"]
    # a new request (no key, or another key) is a new entry: refused, the machine is inside
    assert p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                        json={"code": code, **reported()}).json()["code"] == "already_inside"
    # a refusal sent again is the same refusal, recorded once
    refused_key = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    bodies = [p.sites.post(f"/api/sites/sites/{site}/entries", headers=refused_key,
                           json={"code": "4-N18ZZZZZ", **reported()}) for _ in range(2)]
    assert [b.status_code for b in bodies] == [409, 409] and bodies[1].json()["code"] == "unknown_code"
    # a batch sent again: the same verdicts, the same stays
    batch_key = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    batch = {"machines": [{"code": "2-C18B3C4E", **reported()},
                          {"code": "4-N18ZZZZY", **reported()}]}
    runs = [p.sites.post(f"/api/sites/sites/{site}/entries/batch", headers=batch_key, json=batch).json()
            for _ in range(2)]
    assert runs[0]["batch_id"] == runs[1]["batch_id"] and runs[1]["admitted"] == 1 and runs[1]["refused"] == 1
    assert runs[0]["results"][0]["stay_id"] == runs[1]["results"][0]["stay_id"]
    roster = eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 2).json()
    assert sorted(r["code"] for r in roster) == ["2-C18B3C4E", code]
    refusals = eventually(p.sites, f"/api/sites/sites/{site}/refusals", admin, lambda rows: len(rows) >= 3).json()
    assert sorted(r["reason"] for r in refusals) == ["already_inside", "unknown_code", "unknown_code"]
    # the same key with another machine, or with a scan corrected after a typo, is another request
    reused = p.sites.post(f"/api/sites/sites/{site}/entries", headers=key,
                          json={"code": "3-C18B3C4F", **reported()})
    assert reused.status_code == 201 and reused.json()["stay_id"] != first.json()["stay_id"], reused.text
    typo_key = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        typo = p.sites.post(f"/api/sites/sites/{site}/entries", headers=typo_key,
                            json={"code": "3-C18B3C", **reported()})
        assert typo.status_code == 422 and typo.json()["code"] == "malformed_code"
    corrected = p.sites.post(f"/api/sites/sites/{site}/entries", headers=typo_key,
                             json={"code": "3-C18B3C40", **reported()})
    assert corrected.status_code == 201, corrected.text
    roster = eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 4).json()
    assert sorted(r["code"] for r in roster) == sorted(["2-C18B3C4E", code, "3-C18B3C40", "3-C18B3C4F"])
    refusals = eventually(p.sites, f"/api/sites/sites/{site}/refusals", admin, lambda rows: len(rows) >= 4).json()
    assert sorted(r["reason"] for r in refusals) == ["already_inside", "malformed_code", "unknown_code",
                                                     "unknown_code"]
    bad_key = p.sites.post(f"/api/sites/sites/{site}/entries", headers={**admin, "Idempotency-Key": "x y"},
                           json={"code": code, **reported()})
    assert bad_key.status_code == 422 and bad_key.json()["field"] == "Idempotency-Key", bad_key.text


def test_hostile_paging_and_control_characters_are_422s_before_anything_is_written(platform):  # issue 13 point 4
    p = platform
    site, admin = p.register_site(district="04")
    reviewer = p.token(Role.REVIEWER, "rev-skip", district="04")
    for path, headers in (("/api/sites/sites", reviewer), (f"/api/sites/sites/{site}/movements", admin)):
        beyond = p.sites.get(path, params={"skip": str(2**63)}, headers=headers)
        assert beyond.status_code == 422 and beyond.json()["field"] == "skip", beyond.text
    nul = p.sites.get("/api/sites/sites", params={"district": "04\x00"}, headers=reviewer)
    assert (nul.status_code, nul.json()["code"], nul.json()["field"]) == (422, "control_character", "district")
    entry = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                         json={"code": "3-A12B3C4G\x00", **reported()})
    assert entry.status_code == 422 and entry.json()["field"] == "code", entry.text
    # a registration with a NUL makes no site-admin account: the same site code registers afterwards
    mobile = f"139{uuid.uuid4().int % 10**8:08d}"
    code = f"S-{uuid.uuid4().hex[:8].upper()}"
    body = {"site_code": code, "password": "Site-Passw0rd\x00", "sms_code": p.sms_code(mobile), "details": {
        "name": "工地", "company": {"name": "中建某局", "credit_code": credit_code()}, "district": "04",
        "category": "building", "address": {"street": "解放碑街道", "detail": "1 号"}, "starts_on": "2026-01-01",
        "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": mobile}}}
    refused = p.sites.post("/api/sites/registrations", json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "password", refused.text
    assert p.gateway.post("/api/auth/token", data={"username": code, "password": "Site-Passw0rd"}).status_code == 401
    assert p.sites.get(f"/api/sites/sites/{site}/refusals", headers=admin).json() == []  # nothing recorded
