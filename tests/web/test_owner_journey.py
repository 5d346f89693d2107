"""An owner registers with the SMS code, applies with uploads, follows the review and sees the code."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import audit
from .platform_web import UPLOAD_KINDS, new_mobile


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    popup = page.locator(".van-popup:visible")
    popup.locator(".van-picker-column__item", has_text=re.compile(f"^{re.escape(option)}$")).click()
    popup.get_by_role("button", name="确定", exact=True).click()
    expect(popup).to_be_hidden()


def test_owner_registers_applies_with_uploads_and_sees_the_code(page: Page, web, watch, tmp_path):
    from PIL import Image

    photo = tmp_path / "machine.jpg"
    Image.effect_noise((2400, 1800), 60).convert("RGB").save(photo, quality=95)  # a phone-sized photo
    page.goto("/m/")
    expect(page.get_by_role("heading", name="重庆市非道路移动机械监管")).to_be_visible()
    audit(page, "01-home")

    page.get_by_role("button", name="机主注册").click()
    mobile = new_mobile()
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible()
    page.get_by_label("短信验证码").fill(web.read_sms(mobile))
    page.get_by_label("姓名").fill("张三")
    page.get_by_label("密码").fill("short")
    page.get_by_role("button", name="注册并登录").click()
    expect(page.get_by_text("密码至少 8 位，须包含字母和数字")).to_be_visible()  # bad input: said in words
    page.get_by_label("密码").fill("Owner-Passw0rd")
    audit(page, "02-register")
    page.get_by_role("button", name="注册并登录").click()
    expect(page.get_by_role("heading", name="我的机械与申请")).to_be_visible()
    audit(page, "03-owner-home")

    page.get_by_role("button", name="申请环保编码").click()
    audit(page, "04-apply-empty")
    pick(page, "登记人类型", "个人")
    page.get_by_label("姓名", exact=True).fill("张三")
    page.get_by_label("身份证号").fill("11010519491231002X")
    page.get_by_label("联系电话").fill(mobile)
    pick(page, "机械类型", "挖掘机")
    page.get_by_label("品牌").fill("三一")
    page.get_by_label("型号", exact=True).fill("SY215C")
    page.get_by_label("出厂编号").fill(f"SY-{mobile}")
    page.get_by_label("出厂日期").fill("2025-06-01")
    page.get_by_label("购入/转入日期").fill(page.evaluate("new Date(Date.now() + 8*3600e3).toISOString().slice(0,10)"))
    page.get_by_label("发动机厂家").fill("康明斯")
    page.get_by_label("发动机型号").fill("QSB7")
    page.get_by_label("发动机编号").fill("E-778899")
    page.get_by_label("额定功率(kW)").fill("118")
    pick(page, "排放阶段", "国四")
    pick(page, "使用区县", "04 渝中区")
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_text("请上传：所有者身份证明")).to_be_visible()  # nothing sent without the papers
    for kind in UPLOAD_KINDS:
        row = page.locator(f'[data-kind="{kind}"]')
        row.locator("input[type=file]").set_input_files(str(photo))
        expect(row.get_by_role("status")).to_have_text("已上传")
    audit(page, "04-apply-filled")
    page.get_by_role("button", name="提交申请").click()

    expect(page.get_by_role("heading", name="申请进度")).to_be_visible()
    expect(page.get_by_text("审核中", exact=True)).to_be_visible()
    machine_id = page.url.rsplit("/", 1)[-1]
    page.reload()  # the session outlives a reload: the refresh cookie gives a new access token
    expect(page.get_by_text("审核中", exact=True)).to_be_visible()
    audit(page, "05-application-submitted")

    code = web.approve(machine_id)  # the ecology bureau approves (its console is another issue)
    expect(page.get_by_test_id("code")).to_have_text(code, timeout=20_000)  # the page follows the review
    audit(page, "06-application-approved")
    page.get_by_role("button", name="查看机械与信息卡").click()
    expect(page.get_by_test_id("code")).to_have_text(code)
    expect(page.get_by_role("img", name=f"信息采集卡二维码：{code}")).to_be_visible()
    audit(page, "07-machine")
    page.get_by_text("标牌损坏补办", exact=True).click()  # rule C8
    sheet = page.get_by_role("dialog", name="标牌补办")
    sheet.get_by_role("button", name="提交").click()
    expect(sheet.get_by_text("请说明损坏情况")).to_be_visible()
    sheet.get_by_label("损坏情况").fill("左侧标牌被刮花，无法辨认")
    audit(page, "07b-plate-reissue")
    sheet.get_by_role("button", name="提交").click()
    expect(page.get_by_text("补办申请已提交，请等待生态环境部门办理")).to_be_visible()


def test_a_rejected_owner_signs_in_reads_the_reasons_and_amends(page: Page, web, watch):
    mobile = web.register_owner()
    machine_id = web.apply(web.login(mobile, "Owner-Passw0rd"), district="11", stage="3")
    web.reject(machine_id, "机械铭牌照片不清晰，请重新拍摄")

    page.goto("/m/owner")  # not signed in: the sign-in page, then back where the owner wanted to go
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_label("密码").fill("Wrong-Passw0rd1")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("账号或密码错误")
    page.get_by_label("密码").fill("Owner-Passw0rd")
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_text("未通过，可修改后重新提交").click()
    expect(page.get_by_text("机械铭牌照片不清晰，请重新拍摄")).to_be_visible()
    audit(page, "14-application-rejected")

    page.get_by_role("button", name="修改后重新提交").click()
    expect(page.get_by_label("品牌")).to_have_value("三一")  # the form starts from what was sent
    expect(page.locator('[data-kind="machine_nameplate"]').get_by_role("status")).to_have_text("已上传（原文件）")
    page.get_by_label("型号", exact=True).fill("SY215C-9")
    audit(page, "15-amend")
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_text("审核中", exact=True)).to_be_visible()
    code = web.approve(machine_id)
    expect(page.get_by_test_id("code")).to_have_text(code, timeout=20_000)
