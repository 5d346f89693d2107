"""Issue 18, end to end on the real broker and database, everything through the gateway: a market-supervision system
client (OAuth2 client credentials) pushes 1,000 forklift records, 10 of which match coded machines; 990 follow-up
tasks appear for their districts; the same records again change nothing; an owner applies for a code for one of
them and its task closes; a disclosure with another stage than an application flags it in the reviewer's queue;
the public disclosure query answers without a token (rules D5, N1)."""

from __future__ import annotations

import uuid

import pytest

from nrmm_kernel.reference import Department, Role
from tests.platform import eventually

pytestmark = pytest.mark.integration

DISTRICTS = ["04", "12", "11", "39"]


def client_token(p, client_id: str, secret: str) -> dict:
    answer = p.gateway.post("/api/auth/oauth/token", data={"grant_type": "client_credentials",
                                                           "client_id": client_id, "client_secret": secret})
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def apply(p, owner: dict, **machine) -> tuple[str, str]:
    """An owner's application (machine overrides): (machine id, the registry's X-Position)."""
    body = p.application(owner, machine.pop("district", "04"), machine.pop("stage", "4"))
    body["machine"].update(machine)
    applied = p.gateway.post("/api/registry/applications", json=body, headers=owner)
    assert applied.status_code == 201, applied.text
    return applied.json()["machine_id"], applied.headers["x-position"]


def coded(p, owner: dict, **machine) -> str:
    machine_id, _ = apply(p, owner, **machine)
    approved = p.gateway.post(f"/api/registry/applications/{machine_id}/approval",
                              headers=p.token(Role.REVIEWER, "rev-share"), json={})
    assert approved.status_code == 200, approved.text
    return approved.headers["x-position"]


def imported(p, headers: dict, taken) -> dict:
    """Wait until the import taken (202) is done; its report, with the position it wrote."""
    assert taken.status_code == 202, taken.text
    job = eventually(p.gateway, f"/api/inspection/imports/{taken.json()['import_id']}", headers,
                     lambda j: j["state"] == "done", attempts=3000).json()
    return {**job["report"], "position": job["position"]}


def caught_up(send, attempts: int = 60):
    """Send again while the service answers 503 read_model_behind (as the front ends do after Retry-After)."""
    for _ in range(attempts):
        response = send()
        if response.status_code != 503 or response.json().get("code") != "read_model_behind":
            return response
    raise AssertionError(f"the read model never caught up: {response.text}")


def forklifts(run: str, count: int = 1000) -> list[dict]:
    return [{"registration_number": f"叉{run}-{i:05d}", "equipment_kind": "叉车",
             "user_unit": f"重庆某物流公司{i % 37}",
             "brand": "合力", "model": "CPCD30", "factory_serial": f"HL{run}{i:05d}",
             "district": DISTRICTS[i % len(DISTRICTS)]} for i in range(count)]


def test_market_supervision_pushes_forklifts_and_follow_ups_close_when_coded(platform):
    p = platform
    run = uuid.uuid4().hex[:6].upper()
    registered = p.gateway.post("/api/auth/system-clients", json={"name": "市特种设备信息平台"}, headers=p.admin)
    assert registered.status_code == 201, registered.text
    client = registered.json()
    listed = p.gateway.get("/api/auth/system-clients", headers=p.admin).json()
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)
    market = client_token(p, client["client_id"], client["client_secret"])
    wrong = p.gateway.post("/api/auth/oauth/token", data={"grant_type": "client_credentials",
                                                          "client_id": client["client_id"], "client_secret": "x" * 43})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_client"

    # 10 of the forklifts are coded machines (brand and serial spelled the registry's way, not the platform's)
    owner = p.token(Role.OWNER, f"owner-{run}")
    records = forklifts(run)
    position = None
    for record in records[:10]:
        position = coded(p, owner, category="forklift", brand=" 合 力", factory_serial=record["factory_serial"].lower(),
                         district=record["district"])

    # the inspection service's copy of the registry has the 10 codes when the push is taken (read your writes)
    report = imported(p, market, caught_up(lambda: p.gateway.post(
        "/api/inspection/special-equipment", json={"records": records},
        headers={**market, "X-Min-Position": position})))
    assert (report["rows"], report["recorded"], report["rejected"]) == (1000, 1000, 0), report
    assert (report["matched"], report["follow_ups_opened"]) == (10, 990), report
    written = report["position"]

    city = p.token(Role.DEPARTMENT_VIEWER, "eco-city", department=Department.ECOLOGY)
    progress = caught_up(lambda: p.gateway.get("/api/inspection/special-equipment/follow-ups/progress",
                                               headers={**city, "X-Min-Position": written})).json()
    mine = {d["district"]: d for d in progress["districts"]}
    expected = {d: sum(1 for r in records[10:] if r["district"] == d) for d in DISTRICTS}
    assert {d: mine[d]["open"] for d in DISTRICTS} == expected  # this module's platform: no other tasks
    assert progress["open"] == 990 and progress["closed"] == 0
    district_12 = p.token(Role.INSPECTOR, "insp-share-12", district="12")
    tasks = caught_up(lambda: p.gateway.get("/api/inspection/special-equipment/follow-ups",
                                            params={"state": "open", "limit": 500},
                                            headers={**district_12, "X-Min-Position": written})).json()
    ours = [t for t in tasks["items"] if t["registration_number"].startswith(f"叉{run}")]
    assert len(ours) == expected["12"] and all(t["district"] == "12" for t in tasks["items"])
    assert all(t["follow_up"]["contact"] == t["user_unit"] for t in ours)  # the user unit is the contact
    other_district = p.gateway.get("/api/inspection/special-equipment/follow-ups", params={"district": "04"},
                                   headers=district_12)
    assert other_district.status_code == 403 and other_district.json()["code"] == "outside_jurisdiction"
    matched = caught_up(lambda: p.gateway.get(f"/api/inspection/special-equipment/{records[0]['registration_number']}",
                                              headers={**city, "X-Min-Position": written})).json()
    assert matched["match"]["code"] and matched["follow_up"] is None

    # the same records again: nothing recorded
    again = imported(p, market, p.gateway.post("/api/inspection/special-equipment", json={"records": records},
                                               headers=market))
    assert (again["recorded"], again["unchanged"], again["position"]) == (0, 1000, None), again

    # an owner applies for a code for one of them: its task closes
    target = records[500]
    apply(p, owner, category="forklift", brand=target["brand"], factory_serial=target["factory_serial"],
          district=target["district"])
    closed = eventually(p.gateway, f"/api/inspection/special-equipment/{target['registration_number']}", city,
                        lambda d: (d.get("follow_up") or {}).get("state") == "closed", attempts=300).json()
    assert closed["follow_up"]["reason"] == "code_applied"


def test_a_disclosure_flags_an_application_with_another_stage_and_answers_without_a_token(platform):
    p = platform
    run = uuid.uuid4().hex[:6].upper()
    model = f"SY{run}"
    owner = p.token(Role.OWNER, f"owner-d-{run}")
    machine_id, _ = apply(p, owner, brand="三一", model=model, stage="4")
    admin = p.admin
    pushed = imported(p, admin, p.gateway.post("/api/inspection/disclosures", headers=admin, json={"records": [
        {"manufacturer": "三一重机有限公司", "brand": "三一", "model": model, "engine_model": "QSB7",
         "emission_stage": "国三", "label_number": f"L{run}", "test_facts": {"检测机构": "国家工程机械质检中心"}},
        {"manufacturer": "", "brand": "三一", "model": "X"}]}))
    assert (pushed["recorded"], pushed["rejected"]) == (1, 1), pushed
    assert {e["field"] for e in pushed["errors"]} >= {"manufacturer", "engine_model"}
    assert all(e["row"] == 2 for e in pushed["errors"])

    public = caught_up(lambda: p.gateway.get("/api/inspection/disclosures",
                                             params={"brand": "三一", "model": model.lower()},
                                             headers={"X-Min-Position": pushed["position"]}))
    assert public.status_code == 200, public.text
    assert public.json()["emission_stage"] == "3" and public.json()["label_number"] == f"L{run}"

    reviewer = {**p.token(Role.REVIEWER, "rev-share"), "X-Min-Position": pushed["position"]}
    queue = caught_up(lambda: p.gateway.get("/api/registry/applications",
                                            params={"status": "submitted", "limit": 500}, headers=reviewer))
    assert queue.status_code == 200, queue.text
    ours = next(a for a in queue.json() if a.get("machine_id") == machine_id or a.get("id") == machine_id
                or (a.get("machine") or {}).get("model") == model)
    assert ours["disclosure"]["flagged"] is True
    assert ours["disclosure"]["differences"] == [{"field": "emission_stage", "applied": "4", "disclosed": "3"}]
    one = p.gateway.get(f"/api/registry/applications/{machine_id}", headers=reviewer).json()
    assert one["disclosure"]["flagged"] is True


def test_spot_checks_are_judged_against_the_disclosure_and_counted_per_manufacturer(platform):
    p = platform
    run = uuid.uuid4().hex[:6].upper()
    maker = f"柳工{run}"
    admin = p.admin
    pushed = imported(p, admin, p.gateway.post("/api/inspection/disclosures", headers=admin, json={"records": [
        {"manufacturer": maker, "brand": "柳工", "model": f"LG{run}", "engine_model": "WP6", "emission_stage": "4",
         "label_number": f"LB{run}"}]}))
    assert pushed["recorded"] == 1, pushed
    market = p.token(Role.INSPECTOR, "insp-mkt-12", district="12", department=Department.MARKET)
    body = {"district": "12", "place_kind": "dealer", "place_name": "巴南某经销商", "sale_state": "sold",
            "manufacturer": maker, "category": "loader", "brand": "柳工", "model": f"LG{run}",
            "factory_serial": f"LG-{run}-1", "engine_model": "WP6", "emission_stage": "4",
            "label_number": f"LB{run}", "label_present": True, "participants": ["市场监管 李四"]}
    once = {**market, "Idempotency-Key": f"spot-{run}"}
    passed = p.gateway.post("/api/inspection/spot-checks", json=body, headers=once)
    assert passed.status_code == 201, passed.text
    assert passed.json()["passed"] is True
    again = p.gateway.post("/api/inspection/spot-checks", json=body, headers=once)
    assert again.json()["replayed"] is True and again.json()["spot_check_id"] == passed.json()["spot_check_id"]
    failed = p.gateway.post("/api/inspection/spot-checks", headers=market, json={
        **body, "factory_serial": f"LG-{run}-2", "emission_stage": "3", "label_present": False,
        "smoke": {"k": 1.5, "rated_power_kw": 100}})
    assert failed.status_code == 201, failed.text
    assert [f["kind"] for f in failed.json()["findings"]] == ["stage_differs", "label_missing", "smoke_exceedance"]
    outside = p.gateway.post("/api/inspection/spot-checks", json={**body, "district": "04"}, headers=market)
    assert (outside.status_code, outside.json()["code"]) == (403, "outside_jurisdiction")
    bad = p.gateway.post("/api/inspection/spot-checks", json={**body, "sale_state": "stolen"}, headers=market)
    assert bad.status_code == 422 and bad.json()["field"] == "sale_state"

    viewer = {**p.token(Role.DEPARTMENT_VIEWER, "eco-city", department=Department.ECOLOGY),
              "X-Min-Position": failed.headers["x-position"]}
    results = caught_up(lambda: p.gateway.get("/api/inspection/spot-checks/by-manufacturer", headers=viewer)).json()
    ours = next(r for r in results if r["manufacturer"] == maker)
    assert (ours["checked"], ours["passed"], ours["failed"]) == (2, 1, 1)
    assert ours["findings"] == {"stage_differs": 1, "label_missing": 1, "smoke_exceedance": 1}
