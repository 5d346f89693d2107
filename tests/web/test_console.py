"""The PC console (issue 24) at 1366 x 768 in Chromium, against the real gateway, registry, sites and
notifications: a reviewer finds an application in the queue, sees its uploads inline (a PDF drawn by pdf.js),
approves it and opens the plate PDF at its true size; a decision taken meanwhile by another reviewer is shown as a
conflict; an administrator draws a polygon zone on the map and a China I machine's entry at a site inside it is
refused, the refusal shown on the site's page. Every screen passes axe-core and is photographed."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.registry.fixtures import PDF, PNG, machine, registrant

from .conftest import Watch, audit
from .platform_web import ADMIN_PASSWORD, ADMIN_USER, UPLOAD_KINDS, new_mobile

DESK = {"width": 1366, "height": 768}
STAFF_PASSWORD = "Reviewer-Passw0rd-7"


@pytest.fixture
def desk(browser, web):
    context = browser.new_context(viewport=DESK, locale="zh-CN", base_url=web.url, timezone_id="Asia/Shanghai")
    page = context.new_page()
    watch = Watch(page)
    yield page
    context.close()
    watch.assert_clean()


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    # a password check is deliberately slow (and slower on two shared cores under other suites)
    expect(page.get_by_role("heading", name="欢迎使用")).to_be_visible(timeout=30_000)


def choose(page: Page, select: str, option: str) -> None:
    """An Element Plus select: open it by its label, pick the option by its text."""
    box = page.get_by_role("combobox", name=select).locator(
        "xpath=ancestor::div[contains(@class, 'el-select__wrapper')]")
    box.click()  # the select's box: its chosen value lies over the input
    page.get_by_role("option", name=option, exact=True).click()


def reviewer(web, district: str | None = None) -> str:
    username = f"rev-{uuid.uuid4().hex[:8]}"
    made = web.http.post("/api/auth/staff", headers=web.admin, json={
        "username": username, "password": STAFF_PASSWORD, "role": "reviewer", "department": "ecology",
        "district": district, "name": "审核员甲"})
    assert made.status_code == 201, made.text
    return username


def apply_with_a_pdf(web, district: str, stage: str = "4") -> str:
    """An owner's application through the API: its identity proof a PDF, the rest photos."""
    owner = web.token(Role.OWNER, f"web-owner-{uuid.uuid4().hex[:6]}")
    uploads = {}
    for kind in UPLOAD_KINDS:
        pdf = kind == "identity_proof"
        sent = web.http.post("/api/registry/uploads", headers=owner, data={"kind": kind},
                             files={"file": ("f.pdf" if pdf else "f.png", PDF if pdf else PNG,
                                             "application/pdf" if pdf else "image/png")})
        assert sent.status_code == 201, sent.text
        uploads[kind] = [sent.json()["upload_id"]]
    body = {"registrant": registrant(name="刘审核"), "uploads": uploads,
            "machine": machine(district=district, stage=stage, today=today_in_chongqing(),
                               factory_serial=f"C-{uuid.uuid4().hex[:10]}")}
    applied = web.http.post("/api/registry/applications", json=body, headers=owner)
    assert applied.status_code == 201, applied.text
    return applied.json()["machine_id"]


def test_a_reviewer_approves_an_application_and_opens_the_plate_pdf(desk: Page, web):
    page = desk
    machine_id = apply_with_a_pdf(web, district="26")
    page.goto("/login")
    audit(page, "console-00-login")
    sign_in(page, reviewer(web), STAFF_PASSWORD)

    page.get_by_role("navigation", name="主菜单").get_by_text("审核队列").click()
    choose(page, "区县", "26 武隆区")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name="查看 刘审核 的申请")).to_have_count(1)
    audit(page, "console-01-queue")
    page.get_by_role("link", name="查看 刘审核 的申请").click()
    expect(page).to_have_url(f"{web.url}/review/{machine_id}")

    # the uploads inline: the photos as images, the identity proof (a PDF served as an attachment) drawn by pdf.js
    expect(page.get_by_role("img", name="机械铭牌")).to_be_visible()
    expect(page.get_by_role("img", name="所有者身份证明 第 1 页")).to_be_visible()
    audit(page, "console-02-application")

    page.get_by_role("button", name="审核通过并发放编码").click()
    issued = page.get_by_text("已发放环保编码")
    expect(issued).to_be_visible()
    code = issued.inner_text().split()[-1]
    page.get_by_role("button", name="打印号牌").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("pdf-size")).to_contain_text("500 × 100 mm")  # rule P1, read from the PDF itself
    expect(dialog.get_by_role("img", name=f"环保号牌 {code} 第 1 页")).to_be_visible()
    audit(page, "console-03-plate")
    with page.context.expect_page() as opened:
        dialog.get_by_role("button", name="打开 PDF 原尺寸打印").click()
    assert opened.value.url.startswith("blob:")  # the PDF itself, for the browser's own print at true size
    opened.value.close()


def test_a_decision_taken_meanwhile_by_another_reviewer_is_shown_as_a_conflict(desk: Page, web):
    page = desk
    machine_id = apply_with_a_pdf(web, district="27")
    sign_in(page, reviewer(web), STAFF_PASSWORD)
    page.goto(f"/review/{machine_id}")
    approve = page.get_by_role("button", name="审核通过并发放编码")
    expect(approve).to_be_visible()
    web.reject(machine_id, "铭牌照片不清晰")  # another reviewer, a moment earlier
    approve.click()
    expect(page.get_by_role("alert").filter(has_text="另一位审核人员已先处理了该申请")).to_be_visible()
    expect(page.get_by_text("未通过原因：铭牌照片不清晰")).to_be_visible()
    expect(approve).to_have_count(0)  # the latest state: nothing left to decide
    audit(page, "console-04-conflict")


def register_site_at(web, district: str, street: str, longitude: float, latitude: float) -> tuple[str, str]:
    code, mobile = f"WC-{uuid.uuid4().hex[:8].upper()}", new_mobile("139")
    body = {"site_code": code, "password": "Site-Passw0rd", "sms_code": web.sms_code(mobile), "details": {
        "name": f"控制台测试工地 {code}", "company": {"name": "中建某局", "credit_code": web.credit_code()},
        "district": district, "category": "building", "address": {"street": street, "detail": "1 号"},
        "coordinates": {"longitude": longitude, "latitude": latitude},
        "starts_on": "2026-01-01", "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": mobile}}}
    made = web.http.post("/api/sites/registrations", json=body)
    assert made.status_code == 201, made.text
    return code, "Site-Passw0rd"


def test_an_administrator_draws_a_polygon_zone_and_a_china_one_entry_inside_it_is_refused(desk: Page, web):
    page = desk
    site, password = register_site_at(web, "26", "巷口镇", longitude=107.76, latitude=29.33)
    old = web.issue_code(district="26", stage="1")
    web.gate_knows(site, password, old, "admitted")  # no zone yet: the China I machine would be admitted

    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    page.get_by_role("navigation", name="主菜单").get_by_text("禁用区").click()
    choose(page, "区县", "26 武隆区")
    page.get_by_role("button", name="划定新禁用区").click()
    page.get_by_label("名称").fill("武隆城区禁用区")
    expect(page.get_by_role("img", name="地图：1 个场地，0 个禁用区范围")).to_be_visible()
    page.get_by_role("button", name="在地图上绘制").click()
    # a box around the plot area's middle, where the district's only site is (the map fits what it shows)
    drawn = page.get_by_test_id("map")
    drawn.scroll_into_view_if_needed()
    box = drawn.bounding_box()
    left, top = box["x"] + 70, box["y"] + 20
    width, height = box["width"] - 90, box["height"] - 60
    for fx, fy in ((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)):
        page.mouse.click(left + width * fx, top + height * fy)
    expect(page.get_by_text("已选 4 个顶点")).to_be_visible()
    page.get_by_role("button", name="完成绘制").click()
    audit(page, "console-05-zone-drawn")
    page.get_by_role("button", name="保存禁用区").click()
    expect(page.get_by_text("禁用区已保存")).to_be_visible()
    expect(page.get_by_role("cell", name="武隆城区禁用区", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="1 个多边形", exact=True)).to_be_visible()

    # the gate applies the zone: the China I machine's entry is refused (rule E4)
    web.gate_knows(site, password, old, "high_emission_in_zone")
    gate = web.login(site, password)
    entry = web.http.post(f"/api/sites/sites/{site}/entries", headers=gate, json={
        "code": old, "working_period": {"starts_on": "2026-11-30", "ends_on": "2026-12-31"},
        "machine_type": "excavator", "emission_stage": "1"})
    assert entry.status_code == 409 and entry.json()["code"] == "high_emission_in_zone", entry.text

    # the map shows the zone; the site's page shows the refusal with the zone
    page.get_by_role("navigation", name="主菜单").get_by_text("场地与地图").click()
    choose(page, "区县", "26 武隆区")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("img", name="地图：1 个场地，1 个禁用区范围")).to_be_visible()
    audit(page, "console-06-map")
    page.get_by_role("link", name=site).click()
    page.get_by_role("tab", name="拒绝进场（1）").click()
    expect(page.get_by_role("cell", name="高排放机械：禁止进入本禁用区场地")).to_be_visible()
    expect(page.get_by_role("cell", name="武隆城区禁用区", exact=True)).to_be_visible()
    audit(page, "console-07-refusals")


def test_the_other_screens_pass_axe(desk: Page, web):
    page = desk
    sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    audit(page, "console-08-home")
    for path, heading, name in (("/machines", "已发编码的机械", "console-09-machines"),
                                ("/staff", "创建工作人员账号", "console-10-staff"),
                                ("/inbox", "消息", "console-11-inbox"),
                                ("/views", "部门视图与排名：建设中", "console-12-not-yet")):
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        audit(page, name)
    # an administrator makes an inspector's account; the inspector sees the inspection screen
    page.goto("/staff")
    username = f"insp-{uuid.uuid4().hex[:6]}"
    page.get_by_role("textbox", name="账号", exact=True).fill(username)
    page.get_by_label("初始密码").fill("Inspector-Passw0rd-3")
    choose(page, "角色", "执法检查人员")
    page.get_by_role("button", name="创建账号").click()
    expect(page.get_by_role("cell", name=username)).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, username, "Inspector-Passw0rd-3")
    page.goto("/inspection")
    expect(page.get_by_role("tab", name="违法行为（0）")).to_be_visible()
    audit(page, "console-13-inspection")
