"""A site registers; its gate scans a card's QR through the phone camera (a fake camera playing the card's QR)
and sees the blue screen, records the entry and sees the machine in today's roster; a China I machine at a site
in a restricted zone shows red with the reason in words a guard understands."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import PHONE, audit, launch_args
from .platform_web import new_mobile, write_y4m
from .test_owner_journey import pick


def sign_in_at_gate(page: Page, site: str, password: str) -> None:
    page.goto("/m/login?as=site_admin")
    page.get_by_label("场地编号").fill(site)
    page.get_by_label("密码").fill(password)
    audit(page, "00-login")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="扫码或输入环保编码")).to_be_visible()


def test_site_registers_and_its_gate_scans_a_card_through_the_camera(page: Page, web, watch, playwright, tmp_path):
    code = web.issue_code(district="04", stage="4")  # a China IV machine: blue

    page.goto("/m/site/register")
    site, mobile = f"WS-{new_mobile()[-8:]}", new_mobile("139")
    page.get_by_label("场地编号").fill(site)
    page.get_by_label("场地名称").fill("解放碑改造工程")
    page.get_by_label("施工单位").fill("中建某局")
    page.get_by_label("信用代码").fill("91500000MA5U000000")
    pick(page, "所在区县", "04 渝中区")
    pick(page, "场地类别", "房屋建筑")
    page.get_by_label("街道/镇").fill("解放碑街道")
    page.get_by_label("详细地址").fill("民族路 1 号")
    page.get_by_label("开工日期").fill("2026-01-01")
    page.get_by_label("竣工日期").fill("2027-12-31")
    page.get_by_label("负责人").fill("王五")
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible()
    page.get_by_label("短信验证码").fill(web.read_sms(mobile))
    page.get_by_label("登录密码").fill("Site-Passw0rd")
    page.get_by_role("button", name="注册场地").click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("信用代码")  # a wrong check character, said in words
    audit(page, "08-site-register")
    page.get_by_label("信用代码").fill(web.credit_code())
    page.get_by_role("button", name="注册场地").click()
    expect(page.get_by_role("heading", name="扫码或输入环保编码")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("场内暂无机械")).to_be_visible()
    audit(page, "09-gate")
    web.gate_knows(site, "Site-Passw0rd", code, "admitted")  # the gate's copy of the registry's codes has it

    # the guard's phone: its camera films the machine's card
    video = write_y4m(tmp_path / "card.y4m", f"NRMM:1:{code}")
    camera = playwright.chromium.launch(**launch_args("--use-fake-device-for-media-stream",
                                                      f"--use-file-for-fake-video-capture={video}"))
    try:
        context = camera.new_context(viewport=PHONE, locale="zh-CN", base_url=web.url,
                                     permissions=["camera"], timezone_id="Asia/Shanghai")
        phone = context.new_page()
        sign_in_at_gate(phone, site, "Site-Passw0rd")
        phone.get_by_role("button", name="扫描信息卡二维码").click()
        verdict = phone.get_by_role("alertdialog")
        expect(verdict).to_have_attribute("data-colour", "blue", timeout=15_000)
        expect(verdict.get_by_role("heading")).to_have_text("可以进场")
        expect(verdict).to_contain_text(code)
        expect(phone.get_by_label("排放阶段")).to_have_value("国四")  # prefilled from the registry
        audit(phone, "10-verdict-blue")
        verdict.get_by_role("button", name="登记进场").click()
        expect(verdict.get_by_role("heading")).to_have_text("已登记进场")
        audit(phone, "11-entered")
        verdict.get_by_role("button", name="完成").click()
        row = phone.get_by_test_id("roster-row").filter(has_text=code)
        expect(row).to_be_visible()
        expect(phone.get_by_text("场内机械（1 台）")).to_be_visible()
        audit(phone, "12-roster")
        row.get_by_role("button", name="登记出场").click()
        expect(verdict.get_by_role("heading")).to_have_text("已登记出场")
        verdict.get_by_role("button", name="完成").click()
        expect(phone.get_by_text("场内暂无机械")).to_be_visible()
    finally:
        camera.close()


def test_a_china_i_machine_at_a_site_in_a_restricted_zone_shows_red_with_the_reason(page: Page, web, watch):
    site, password = web.register_site(district="09", street="南坪街道")
    web.zone(district="09", street="南坪街道")
    code = web.issue_code(district="09", stage="1")
    web.gate_knows(site, password, code, "high_emission_in_zone")

    sign_in_at_gate(page, site, password)
    page.get_by_label("环保编码").fill("4-N0")
    page.get_by_role("button", name="核验编码").click()
    verdict = page.get_by_role("alertdialog")
    expect(verdict).to_have_attribute("data-colour", "red")
    expect(verdict.get_by_test_id("reason")).to_contain_text("无法识别")  # a typo: said so, in words
    verdict.get_by_role("button", name="返回").click()

    page.get_by_label("环保编码").fill(code.lower())
    page.get_by_role("button", name="核验编码").click()
    expect(verdict).to_have_attribute("data-colour", "red")
    expect(verdict.get_by_role("heading")).to_have_text("禁止进场")
    expect(verdict.get_by_test_id("reason")).to_contain_text("高排放机械：禁止进入本禁用区场地")
    expect(verdict).not_to_contain_text(re.compile(r"[{}]|high_emission"))  # no raw codes or JSON
    expect(verdict.get_by_role("button", name="登记进场")).to_have_count(0)
    audit(page, "13-verdict-red")
