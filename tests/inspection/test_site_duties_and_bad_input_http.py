"""The site's duties through the API by the roles that hold them (rules D2, D4, E5, E6), and bad input: a clear 4xx
with the field, nothing half-written, never a 5xx."""

from nrmm_kernel.reference import Role
from tests.inspection.conftest import PDF, PNG, today
from tests.platform import eventually
from tests.registry.fixtures import credit_code


def test_coverage_management_rules_contracts_and_fuel_receipts(platform):
    p = platform
    site, admin = p.register_site(district="07", street="小龙坎街道")
    inspector = p.inspector("07")
    code = p.issue_code(owner="owner-cover", district="07", stage="4")
    p.enter(site, admin, code)
    p.scanned(inspector, site, code, until=lambda d: d["open_stay"] is not None)
    for body in ({"code": code, "plate": "affixed", "card_carried": True},
                 {"code": "4-B12B3C4D", "plate": "painted", "card_carried": True}):  # another province's, no entry
        checked = p.api.post("/api/inspection/checks", headers=inspector, json={"site_code": site, **body})
        assert checked.status_code == 201, checked.text
    coverage = eventually(p.api, f"/api/inspection/sites/{site}/coverage", admin,
                          lambda d: d["machines_found"] == 2).json()
    assert coverage["with_entry_record"] == 1 and coverage["coverage"] == 0.5

    # rule E5: the site admin uploads its machine-management rules, an inspector of the district checks them
    rules = p.photo(admin, "management_rules")
    uploaded = p.api.post(f"/api/inspection/sites/{site}/management-rules", headers=admin,
                          json={"title": "施工现场非道路移动机械管理制度", "documents": [rules]})
    assert uploaded.status_code == 201, uploaded.text
    elsewhere = p.api.post(f"/api/inspection/sites/{site}/management-rules/review", headers=p.inspector("08"),
                           json={"accepted": True})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "outside_jurisdiction"
    checked = p.api.post(f"/api/inspection/sites/{site}/management-rules/review", headers=inspector,
                         json={"accepted": True})
    assert checked.status_code == 200 and checked.json()["status"] == "accepted"

    # rule D2: the project owner, and the NRMM clauses of the construction contract, checked by an inspector
    contract = p.upload(admin, "contract", PDF).json()["upload_id"]
    early = p.api.post(f"/api/inspection/sites/{site}/contracts", headers=admin, json={
        "kind": "construction", "counterparty": "中建某局", "clauses": "第8条 非道路移动机械", "documents": [contract]})
    assert early.status_code == 409 and early.json()["code"] == "project_owner_required"
    owner = p.api.put(f"/api/inspection/sites/{site}/project-owner", headers=admin,
                      json={"name": "重庆某置业有限公司", "credit_code": credit_code("91500000MA61111")})
    assert owner.status_code == 200, owner.text
    filed = p.api.post(f"/api/inspection/sites/{site}/contracts", headers=admin, json={
        "kind": "construction", "counterparty": "中建某局", "clauses": "第8条 施工单位应使用已编码的非道路移动机械",
        "documents": [contract]})
    assert filed.status_code == 201, filed.text
    rejected = p.api.post(f"/api/inspection/sites/{site}/contracts/{filed.json()['contract_id']}/review",
                          headers=inspector, json={"accepted": False, "reason": "未约定进出场登记义务"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    # rule E6: fuel receipts, accepted or rejected with a reason by the site's supervision engineer only
    engineer = p.token(Role.SUPERVISION_ENGINEER, "eng-07", district="07", site_id=site)
    receipts = []
    for supplier in ("中石化小龙坎加油站", "无名油贩"):
        sent = p.api.post(f"/api/inspection/sites/{site}/fuel-receipts", headers=admin, json={
            "supplier": supplier, "purchased_on": today(), "quantity_litres": 500, "fuel_standard": "GB 19147 VI",
            "photo": p.photo(admin, "fuel_receipt_photo")})
        assert sent.status_code == 201, sent.text
        receipts.append(sent.json()["receipt_id"])
    decide = f"/api/inspection/sites/{site}/fuel-receipts/{{}}/decision"
    for who in (admin, p.token(Role.SUPERVISION_ENGINEER, "eng-x", district="07", site_id="S-OTHER")):
        refused = p.api.post(decide.format(receipts[0]), headers=who, json={"accepted": True})
        assert refused.status_code == 403
    assert p.api.post(decide.format(receipts[0]), headers=engineer, json={"accepted": True}).status_code == 200
    no_reason = p.api.post(decide.format(receipts[1]), headers=engineer, json={"accepted": False})
    assert no_reason.status_code == 422
    assert p.api.post(decide.format(receipts[1]), headers=engineer,
                      json={"accepted": False, "reason": "无供货资质"}).status_code == 200
    again = p.api.post(decide.format(receipts[1]), headers=engineer, json={"accepted": True})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"

    duties = eventually(p.api, f"/api/inspection/sites/{site}/duties", engineer,
                        lambda d: all(r["status"] != "submitted" for r in d["fuel_receipts"])
                        and d["contracts"] and d["contracts"][0]["status"] == "rejected").json()
    assert duties["management_rules"]["status"] == "accepted"
    assert duties["project_owner"]["name"] == "重庆某置业有限公司"
    assert [r["status"] for r in duties["fuel_receipts"]] == ["accepted", "rejected"]
    assert duties["fuel_receipts"][1]["reason"] == "无供货资质"
    stranger = p.api.get(f"/api/inspection/sites/{site}/duties", headers=p.token(Role.OWNER, "owner-cover"))
    assert stranger.status_code == 403


def test_bad_input_is_a_clear_4xx_with_its_field_and_nothing_is_written(platform):
    p = platform
    site, admin = p.register_site(district="09", street="南坪街道")
    inspector = p.inspector("09")
    code = p.issue_code(owner="owner-bad", district="09", stage="4")
    electric = p.issue_code(owner="owner-bad", district="09", stage="D")
    p.scanned(inspector, site, code)
    p.scanned(inspector, site, electric)
    base = {"site_code": site, "code": code, "plate": "affixed", "card_carried": True}

    def refused(body, status, code_, field, reason=None):
        response = p.api.post("/api/inspection/checks", headers=inspector, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] == code_ and response.json()["field"] == field, response.text
        if reason:
            assert response.json()["reason"] == reason
        return response

    refused({**base, "smoke": {"k": -0.1}}, 422, "validation_error", "smoke.k", "k_out_of_range")
    refused({**base, "smoke": {"k": 10.01}}, 422, "validation_error", "smoke.k", "k_out_of_range")
    refused({**base, "smoke": {"ringelmann": 6}}, 422, "validation_error", "smoke.ringelmann",
            "ringelmann_out_of_range")
    refused({**base, "smoke": {"ringelmann": -1}}, 422, "validation_error", "smoke.ringelmann")
    refused({**base, "smoke": {}}, 422, "validation_error", "smoke", "reading_required")
    refused({**base, "code": "4-N09ZZZZZ"}, 404, "unknown_code", "code")
    refused({**base, "code": "4-NO9ABCDE"}, 422, "malformed_code", "code")
    refused({**base, "code": electric, "smoke": {"k": 0.3}}, 422, "no_exhaust", "smoke")
    refused({**base, "code": "4-B12B3C4D", "smoke": {"k": 0.3}}, 422, "rated_power_required", "smoke.rated_power_kw")
    refused({**base, "site_code": "S-NOSUCHSITE"}, 404, "unknown_site", "site_code")
    refused({**base, "plate": "glued"}, 422, "validation_error", "plate")
    refused({**base, "observed": {"category": "挖掘机"}}, 422, "validation_error", "observed.category",
            "unknown_category")
    operator = {"user_unit": "u", "contact_name": "c", "mobile": "12345"}
    uncoded = {"category": "forklift", "brand": "合力", "model": "X", "factory_serial": "1", "operator": operator}
    refused({"site_code": site, "uncoded": uncoded, "photos": ["x"]}, 422, "validation_error",
            "uncoded.operator.mobile")

    # photos: images by content, the inspector's own, of the right kind
    pdf_photo = p.upload(inspector, "evidence_photo", PDF)
    assert pdf_photo.status_code == 422 and pdf_photo.json()["code"] == "photo_must_be_image"
    assert pdf_photo.json()["field"] == "file"
    text = p.upload(inspector, "evidence_photo", b"hello")
    assert text.status_code == 422 and text.json()["code"] == "unsupported_file_type"
    theirs = p.photo(p.token(Role.OWNER, "owner-bad"), "rectification_evidence")
    refused({**base, "photos": [theirs]}, 422, "unknown_upload", "photos")
    document = p.upload(inspector, "rectification_evidence", PNG).json()["upload_id"]
    refused({**base, "photos": [document]}, 422, "upload_kind_mismatch", "photos")

    # nothing was written: the one good check that follows is the site's only check
    good = p.api.post("/api/inspection/checks", headers=inspector, json={**base, "photos": [p.photo(inspector)]})
    assert good.status_code == 201, good.text
    checks = eventually(p.api, f"/api/inspection/checks?site={site}", inspector, lambda rows: rows).json()
    assert [c["check_id"] for c in checks] == [good.json()["check_id"]]

    # a rectification of someone else's violation, an unknown violation, a bad measure
    violation = good.json()["violations"][0]["violation_id"]  # entry_not_registered: owner-bad's
    other = p.api.post(f"/api/inspection/violations/{violation}/rectifications",
                       headers=p.token(Role.OWNER, "owner-else"), json={"measure": "repair"})
    assert other.status_code == 403 and other.json()["code"] == "not_your_violation"
    assert other.json()["field"] == "violation_id"
    other_site = p.api.post(f"/api/inspection/violations/{violation}/rectifications",
                            headers=p.token(Role.SITE_ADMIN, "gate-x", site_id="S-ELSEWHERE"),
                            json={"measure": "repair"})
    assert other_site.status_code == 403
    unknown = p.api.post(f"/api/inspection/violations/{good.json()['check_id']}-uncoded/rectifications",
                         headers=p.token(Role.OWNER, "owner-bad"), json={"measure": "repair"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_violation"
    measure = p.api.post(f"/api/inspection/violations/{violation}/rectifications",
                         headers=p.token(Role.OWNER, "owner-bad"), json={"measure": "prayer"})
    assert measure.status_code == 422 and measure.json()["field"] == "measure"
    retest = p.api.post(f"/api/inspection/violations/{violation}/retests", headers=inspector, json={"k": 11})
    assert retest.status_code == 422 and retest.json()["field"] == "k"
    receipt = p.api.post(f"/api/inspection/sites/{site}/fuel-receipts", headers=admin, json={
        "supplier": "s", "purchased_on": "2099-01-01", "quantity_litres": 1, "fuel_standard": "x", "photo": "x"})
    assert receipt.status_code == 422 and receipt.json()["field"] == "purchased_on"
    history = p.violation(inspector, violation)["history"]
    assert [h["event"] for h in history] == ["ViolationOpened"]

    # a violation opened in error is withdrawn with a reason, not deleted
    withdrawal = f"/api/inspection/violations/{violation}/withdrawal"
    assert p.api.post(withdrawal, headers=inspector, json={"reason": ""}).json()["field"] == "reason"
    assert p.api.post(withdrawal, headers=p.inspector("10"), json={"reason": "误录"}).status_code == 403
    withdrawn = p.api.post(withdrawal, headers=inspector, json={"reason": "进场登记在另一台账上"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "closed"
    shown = p.violation(inspector, violation, until=lambda d: d["status"] == "withdrawn")
    assert [h["event"] for h in shown["history"]] == ["ViolationOpened", "ViolationWithdrawn"]
    again = p.api.post(withdrawal, headers=inspector, json={"reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "violation_closed"


def test_a_check_sent_again_records_once_and_a_high_emission_machine_in_a_zone_is_a_violation(platform):
    p = platform
    site, _ = p.register_site(district="10", street="北温泉街道")
    inspector = p.inspector("10")
    old = p.issue_code(owner="owner-old", district="10", stage="1", rated_power_kw=30.0)
    p.scanned(inspector, site, old)
    body = {"site_code": site, "code": old, "plate": "hung", "card_carried": True, "in_restricted_zone": True,
            "observed": {"brand": "三一", "model": "SY75C", "engine_serial": "E-778899"}, "smoke": {"ringelmann": 1}}
    key = {"Idempotency-Key": "check-retry-0001"}
    first = p.api.post("/api/inspection/checks", headers={**inspector, **key}, json=body)
    assert first.status_code == 201, first.text
    kinds = sorted(v["kind"] for v in first.json()["violations"])
    assert kinds == ["entry_not_registered", "high_emission_in_zone", "registration_mismatch"]
    assert [d["field"] for d in first.json()["discrepancies"]] == ["model"]
    smoke = first.json()["smoke"]  # China I, 30 kW: class I, 19-37 kW band; Ringelmann 1 is within the limit
    assert (smoke["limit_class"], smoke["band"], smoke["k_limit"], smoke["exceeded"]) == ("I", "19<=P<37", 2.0, False)
    again = p.api.post("/api/inspection/checks", headers={**inspector, **key}, json=body)
    assert again.status_code == 201 and again.json()["replayed"] is True
    assert again.json()["check_id"] == first.json()["check_id"]

    # read your own writes: the answer's position, sent back, makes the read wait for its projection
    position = first.headers["X-Position"]
    mismatch = next(v["violation_id"] for v in first.json()["violations"] if v["kind"] == "registration_mismatch")
    read = p.api.get(f"/api/inspection/violations/{mismatch}", headers={**inspector, "X-Min-Position": position})
    assert read.status_code == 200 and read.json()["detail"].endswith("model")
    checks = eventually(p.api, f"/api/inspection/checks?site={site}", inspector, lambda rows: rows).json()
    assert len(checks) == 1
    offences = p.api.get("/api/inspection/offences?by=machine", headers=inspector).json()
    assert {"by": "machine", "key": old.split("-", 1)[1], "violations": 3, "repeat": True} in offences
