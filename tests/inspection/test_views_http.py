"""The department-views issue's acceptance, end to end over the gateway on real infrastructure (rules D3, D6):
building sites count in the housing department's views once its district administrator confirmed them; after the
inspections scenario (a coded machine over the smoke limit, an uncoded forklift, a rectification and a passed
retest) the housing department's district view and ranking change accordingly (coded rate, coverage, violations,
score); the state-owned-assets view shows the state-owned site once confirmed; another department's viewer sees none
of it; the CSV and XLSX exports hold the same figures as the API; and recomputing everything changes nothing."""

import asyncio
import csv
import io

from openpyxl import load_workbook

from inspection.app.views_refresh import DEPARTMENT_WEEKS, SITE_FIGURES, ViewsRefresher
from nrmm_kernel.reference import Department, Role
from nrmm_kernel.runtime import mongo_client
from tests.inspection.conftest import serial
from tests.platform import eventually
from tests.registry.fixtures import credit_code

VIEW = "/api/inspection/views/departments"
RANKING = "/api/inspection/views/rankings"


def company(name: str, body: str) -> dict:
    return {"company": {"name": name, "credit_code": credit_code(body)}}


def figures_of(body: dict) -> dict:
    return body["figures"]


def test_housing_views_and_rankings_follow_the_inspections(platform):
    p = platform
    state_owned = company("中建八局第三建设有限公司", "91500000MA6N001")
    private = company("重庆某民营建筑公司", "91500000MA6N002")
    site, admin = p.register_site(district="04", **state_owned)
    calm, calm_admin = p.register_site(district="04", **private)
    road, _ = p.register_site(district="04", category="transport_works", **private)
    housing_admin = p.token(Role.ADMIN, "adm-hou-04", district="04", department=Department.HOUSING)
    transport_admin = p.token(Role.ADMIN, "adm-tra-04", district="04", department=Department.TRANSPORT)
    assets_admin = p.token(Role.ADMIN, "adm-gz-04", district="04", department=Department.STATE_ASSETS)
    housing = p.token(Role.DEPARTMENT_VIEWER, "view-hou-04", district="04", department=Department.HOUSING)
    transport = p.token(Role.DEPARTMENT_VIEWER, "view-tra-04", district="04", department=Department.TRANSPORT)
    assets = p.token(Role.DEPARTMENT_VIEWER, "view-gz-04", district="04", department=Department.STATE_ASSETS)
    housing_elsewhere = p.token(Role.DEPARTMENT_VIEWER, "view-hou-12", district="12", department=Department.HOUSING)

    # rule D3: the category's department confirms; another department cannot, nor can the site itself
    confirm = "/api/sites/sites/{}/department-confirmation"
    refused = p.api.post(confirm.format(site), headers=transport_admin, json={"accepted": True})
    assert refused.status_code == 403 and refused.json()["code"] == "another_department"
    assert p.api.post(confirm.format(site), headers=admin, json={"accepted": True}).status_code == 403
    for code in (site, calm):
        confirmed = p.api.post(confirm.format(code), headers=housing_admin, json={"accepted": True})
        assert confirmed.status_code == 200 and confirmed.json()["confirmed_department"] == "housing", confirmed.text
    again = p.api.post(confirm.format(site), headers=housing_admin, json={"accepted": True})
    assert again.status_code == 409 and again.json()["code"] == "already_confirmed"
    assert p.api.post(confirm.format(road), headers=transport_admin, json={"accepted": True}).status_code == 200
    # state ownership: declared by the site, confirmed by the state-owned assets department
    declared = p.api.put(f"/api/sites/sites/{site}/state-ownership", headers=admin,
                         json={"construction_company_state_owned": True})
    assert declared.status_code == 200 and not declared.json()["state_ownership_confirmed"], declared.text
    nothing = p.api.post(f"/api/sites/sites/{calm}/state-ownership/confirmation", headers=assets_admin,
                         json={"accepted": True})
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_confirm"
    assets_confirmed = p.api.post(f"/api/sites/sites/{site}/state-ownership/confirmation", headers=assets_admin,
                                  json={"accepted": True})
    assert assets_confirmed.status_code == 200 and assets_confirmed.json()["state_ownership_confirmed"]
    shown = eventually(p.sites, f"/api/sites/sites/{site}", admin, lambda d: d.get("state_ownership_confirmed"))
    assert shown.json()["confirmed_department"] == "housing"

    view = eventually(p.api, VIEW, housing, lambda d: d["sites"] == 2).json()
    assert view["department"] == "housing" and view["district"] == "04" and view["score"] is None
    assert len(view["trend"]) == 12 and view["scoring"]["weights"]["coded_rate"] == 0.30

    # the inspections scenario: a coded machine over the smoke limit, an uncoded forklift; a clean machine elsewhere
    owner = p.token(Role.OWNER, "owner-views")
    code = p.issue_code(owner="owner-views", district="04", stage="3")
    p.enter(site, admin, code)
    clean = p.issue_code(owner="owner-views", district="04", stage="4")
    p.enter(calm, calm_admin, clean, machine_type="loader")
    inspector = p.inspector("04")
    p.scanned(inspector, site, code, until=lambda d: d["open_stay"] is not None)
    smoky = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "code": code, "plate": "affixed", "card_carried": True, "smoke": {"k": 1.35}})
    assert smoky.status_code == 201, smoky.text
    smoke_violation = smoky.json()["violations"][0]["violation_id"]
    uncoded = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "photos": [p.photo(inspector)],
        "uncoded": {"category": "forklift", "brand": "合力", "model": "CPCD30", "factory_serial": serial(),
                    "operator": {"user_unit": "某某租赁公司", "contact_name": "李四", "mobile": "13911112222"}}})
    assert uncoded.status_code == 201, uncoded.text
    p.scanned(inspector, calm, clean, until=lambda d: d["open_stay"] is not None)
    fine = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": calm, "code": clean, "plate": "affixed", "card_carried": True})
    assert fine.status_code == 201 and fine.json()["violations"] == [], fine.text

    view = eventually(p.api, VIEW, housing, lambda d: d["figures"]["machines_found"] == 3
                      and d["figures"]["violations_opened"] == 2).json()
    f = figures_of(view)
    assert (f["entries"], f["coded_found"], f["registered_found"]) == (2, 2, 2)
    assert (f["violations_open"], f["violations_closed"]) == (2, 0)
    assert view["indicators"]["coded_rate"] == round(2 / 3, 4)
    assert view["indicators"]["registration_coverage"] == round(2 / 3, 4)
    assert view["indicators"]["violations_per_machine"] == round(2 / 3, 4)
    assert view["machines_now"]["inside"] == 2 and view["machines_now"]["by_colour"] == {"blue": 2}
    assert f["entries_by_category"] == {"excavator": 1, "loader": 1}
    before = view["score"]
    ranked = eventually(p.api, f"{RANKING}?by=site", housing, lambda d: len(d["rows"]) == 2).json()
    assert [r["site_code"] for r in ranked["rows"]] == [calm, site]  # the clean site first
    assert ranked["rows"][1]["indicators"]["coded_rate"] == 0.5 and ranked["rows"][0]["score"] == 100.0
    assert ranked["scoring"]["formula"].startswith("得分")

    # the owner rectifies, the retest passes: the view and the ranking change accordingly
    assert p.api.post(f"/api/inspection/violations/{smoke_violation}/rectifications", headers=owner,
                      json={"measure": "repair"}).status_code == 201
    assert p.api.post(f"/api/inspection/violations/{smoke_violation}/retests", headers=inspector,
                      json={"k": 0.4}).json()["status"] == "closed"
    view = eventually(p.api, VIEW, housing, lambda d: d["figures"]["violations_closed"] == 1).json()
    assert view["figures"]["rectified_on_time"] == 1 and view["indicators"]["rectification_on_time"] == 1.0
    assert view["score"] > before

    # companies: the state-owned company's site ranks below the private one's (which also has the road: transport)
    by_company = p.api.get(RANKING, headers=housing).json()
    assert [r["name"] for r in by_company["rows"]] == ["重庆某民营建筑公司", "中建八局第三建设有限公司"]
    filtered = p.api.get(VIEW, headers=housing, params={"company": state_owned["company"]["credit_code"]}).json()
    assert filtered["figures"]["machines_found"] == 2 and filtered["figures"]["violations_opened"] == 2

    # the state-owned assets view shows the state-owned site, and only it
    in_assets = eventually(p.api, VIEW, assets, lambda d: d["figures"]["machines_found"] == 2).json()
    assert in_assets["sites"] == 1
    assert [r["site_code"] for r in p.api.get(f"{RANKING}?by=site", headers=assets).json()["rows"]] == [site]

    # another department's viewer sees none of it; another district's housing office neither
    own = eventually(p.api, VIEW, transport, lambda d: d["sites"] == 1).json()
    assert own["figures"]["machines_found"] == 0 and own["figures"]["entries"] == 0
    for headers, params in ((transport, {"department": "housing"}), (housing_elsewhere, {"district": "04"}),
                            (housing, {"district": "all"})):
        denied = p.api.get(VIEW, headers=headers, params=params)
        assert denied.status_code == 403 and denied.json()["code"], denied.text
    assert p.api.get(f"/api/inspection/views/sites/{site}", headers=transport).status_code == 403
    site_view = p.api.get(f"/api/inspection/views/sites/{site}", headers=housing).json()
    assert site_view["state_owned"] and site_view["governed_by"] == ["all", "housing", "state_assets"]
    city = eventually(p.api, VIEW, p.token(Role.DEPARTMENT_VIEWER, "eco-city"),
                      lambda d: d["figures"]["machines_found"] >= 3).json()
    assert city["department"] == "all" and city["district"] == "all"

    # the exports hold the same figures as the API
    view = p.api.get(VIEW, headers=housing).json()
    exported = p.api.get(f"{VIEW}/export", headers=housing, params={"fmt": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig").split("\r\n\r\n")[0])))
    header, total = table[0], table[-1]
    assert total[0] == "total" and int(total[header.index("violations_opened")]) == 2
    assert float(total[header.index("score")]) == view["score"]
    assert float(total[header.index("coded_rate")]) == view["indicators"]["coded_rate"]
    book = load_workbook(io.BytesIO(p.api.get(f"{VIEW}/export", headers=housing, params={"fmt": "xlsx"}).content))
    rows = list(book["trend"].iter_rows(values_only=True))
    assert rows[-1][rows[0].index("score")] == view["score"]
    assert [r[0] for r in rows[1:-1]] == [w["week"] for w in view["trend"]]
    ranking = p.api.get(f"{RANKING}?by=site", headers=housing).json()
    sheet = load_workbook(io.BytesIO(p.api.get(f"{RANKING}/export", headers=housing,
                                               params={"fmt": "xlsx", "by": "site"}).content))
    xrows = list(sheet["ranking"].iter_rows(values_only=True))
    assert [(r[1], r[-1]) for r in xrows[1:]] == [(r["site_code"], r["score"]) for r in ranking["rows"]]
    assert {r[0]: r[1] for r in sheet["scoring"].iter_rows(values_only=True)}["coded_rate"] == 0.30
    ranked_csv = p.api.get(f"{RANKING}/export", headers=housing, params={"fmt": "csv", "by": "site"})
    assert ranked_csv.status_code == 200 and site in ranked_csv.content.decode("utf-8-sig")

    # recomputed from the entities' own documents: everything again changes nothing
    async def recomputed():
        client = mongo_client(p.infra.mongodb_url)
        db = client[p.database]
        try:
            async def snapshot():
                return ([d async for d in db[SITE_FIGURES].find().sort("_id")],
                        [d async for d in db[DEPARTMENT_WEEKS].find().sort("_id")])

            before = await snapshot()
            await ViewsRefresher(db).refresh_everything()
            return before, await snapshot()
        finally:
            await client.close()

    before, after = asyncio.run(recomputed())
    assert before == after and len(before[0]) == 3
