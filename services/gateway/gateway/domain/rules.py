"""Identity rules, pure: passwords, SMS verification codes, login throttling, who may create which account."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from zxcvbn import zxcvbn

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import AppError, Forbidden, ValidationFailed
from nrmm_kernel.identity import mobile_problem
from nrmm_kernel.reference import Department, Role

STAFF_ACCOUNT_ROLES = frozenset({Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.SUPERVISION_ENGINEER,
                                 Role.AUDITOR, Role.ADMIN})
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,39}$")


STAFF_MIN_LENGTH = 10
STAFF_MIN_SCORE = 3  # zxcvbn: 0 too guessable (a common password) .. 4 very unguessable


def check_password(password: str, field: str = "password", *, staff: bool = False,
                   user_inputs: tuple[str, ...] = ()) -> None:
    """At least 8 characters with letters and digits; not all one kind; not a common password (zxcvbn's
    dictionaries of leaked passwords, words and names). Staff, who read and decide for a whole district: at least
    10 characters, and hard to guess (zxcvbn score 3 of 4, the username counted as known)."""
    if len(password) < 8 or len(password) > 128:
        raise ValidationFailed("密码长度须为 8-128 位", code="weak_password", field=field)
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password)):
        raise ValidationFailed("密码须同时包含字母和数字", code="weak_password", field=field)
    score = zxcvbn(password, user_inputs=[u for u in user_inputs if u])["score"]
    if score == 0:
        raise ValidationFailed("密码过于常见，请换一个 (a common password)", code="common_password", field=field)
    if staff and (len(password) < STAFF_MIN_LENGTH or score < STAFF_MIN_SCORE):
        raise ValidationFailed(f"工作人员密码须至少 {STAFF_MIN_LENGTH} 位且不易猜测 (too weak for a staff account)",
                               code="weak_password", field=field)


def check_username(username: str) -> str:
    """A chosen username (staff, administrators). Mobile numbers are owners' usernames: nobody else takes one."""
    if not USERNAME.match(username):
        raise ValidationFailed("用户名须为 3-40 位字母、数字、点、下划线或连字符", code="invalid_username",
                               field="username")
    if mobile_problem(username) is None:
        raise ValidationFailed("手机号码只能作为车主的用户名", code="invalid_username", field="username")
    return username


def may_create_staff(creator: Principal, role: Role, department: Department | None, district: str | None,
                     site_id: str | None = None) -> None:
    """An administrator makes staff accounts: a district administrator only in their district, never city level;
    an administrator of another department than the ecology bureau (which leads everything) only for their own
    department. Reviewers issue codes, so they are the bureau's; auditors read every department, so only the
    bureau makes them. A supervision engineer (rule E6) works for a supervision company, not a department, and
    is bound to the site they supervise."""
    if creator.role is not Role.ADMIN:
        raise Forbidden("仅管理员可以创建工作人员账户", code="role_not_allowed")
    if role not in STAFF_ACCOUNT_ROLES:
        raise ValidationFailed("工作人员角色无效", code="invalid_role", field="role")
    if role is Role.SUPERVISION_ENGINEER:
        if not site_id:
            raise ValidationFailed("监理人员须指定所监理的场地", code="site_required", field="site_id")
        if department is not None or district is None:
            raise ValidationFailed("监理单位不属于主管部门", code="department_not_allowed", field="department")
    elif site_id is not None:
        raise ValidationFailed("只有监理人员绑定场地", code="site_not_allowed", field="site_id")
    if role in (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.ADMIN) and department is None:
        raise ValidationFailed("须指定所属部门", code="department_required", field="department")
    if role is Role.REVIEWER and department is not Department.ECOLOGY:
        raise ValidationFailed("审核员属于生态环境部门", code="department_not_allowed", field="department")
    if role is Role.AUDITOR and department is not None:
        raise ValidationFailed("审计账户不属于某一部门", code="department_not_allowed", field="department")
    if creator.department is not Department.ECOLOGY:
        if role in (Role.REVIEWER, Role.AUDITOR) or (role is not Role.SUPERVISION_ENGINEER
                                                     and department != creator.department):
            raise Forbidden("只能创建本部门的账户 (another department)", code="outside_jurisdiction")
    if not creator.city_level and district != creator.district:
        raise Forbidden("只能在本区县创建账户 (outside your jurisdiction)", code="outside_jurisdiction")


# --- SMS verification codes --------------------------------------------------------------------------------------

def new_sms_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_code(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def code_matches(code: str, salt: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_code(code, salt), stored_hash)


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


def check_sms_rate(sent_at: list[datetime], now: datetime, *, resend_seconds: int, daily_limit: int) -> None:
    """``sent_at``: when codes went to this number in the last day."""
    recent = [t for t in sent_at if now - t < timedelta(days=1)]
    if len(recent) >= daily_limit:
        wait = max(1, int((min(recent) + timedelta(days=1) - now).total_seconds()))
        raise TooManyRequests("今日验证码发送次数已达上限", code="sms_rate_limited", field="mobile",
                              details={"retry_after": wait})
    last = max(recent, default=None)
    # (an earlier send may carry a time a little after ``now``: racing requests read their clocks in any order)
    if resend_seconds > 0 and last is not None and now - last < timedelta(seconds=resend_seconds):
        wait = int((last + timedelta(seconds=resend_seconds) - now).total_seconds()) + 1
        raise TooManyRequests(f"请 {wait} 秒后再获取验证码", code="sms_rate_limited", field="mobile",
                              details={"retry_after": wait})


def check_sms_volume(sent_at: list[datetime], now: datetime, *, limit: int, scope: str,
                     window: timedelta = timedelta(hours=1)) -> None:
    """``sent_at``: sends in the window from one client address (``scope`` "address") or from everyone
    ("overall"). On top of the per-number limits: one address cannot pump SMS to many numbers."""
    recent = sorted(t for t in sent_at if now - t < window)
    if len(recent) >= limit:
        wait = max(1, int((recent[-limit] + window - now).total_seconds()) + 1)
        raise TooManyRequests("验证码发送过于频繁，请稍后再试", code="sms_rate_limited", field=None,
                              details={"retry_after": wait, "scope": scope})


@dataclass(frozen=True)
class SmsCheck:
    ok: bool
    error: str | None = None  # sms_code_expired, sms_code_invalid


def check_sms_code(stored: dict[str, Any] | None, code: str, now: datetime, *, tries: int,
                   max_attempts: int) -> SmsCheck:
    """``stored``: the newest unused code sent to the number for this purpose, or None (never sent, or used).
    ``tries``: this try's number among the code's tries (each is numbered before it is judged, so racing guesses
    are judged in one order and no more than ``max_attempts`` are ever compared)."""
    if stored is None:
        return SmsCheck(False, "sms_code_invalid")
    if stored["expires_at"] <= now:
        return SmsCheck(False, "sms_code_expired")
    if tries > max_attempts:  # too many tries: even the right code no longer works
        return SmsCheck(False, "sms_code_invalid")
    if not code_matches(code, stored["_id"], stored["code_hash"]):
        return SmsCheck(False, "sms_code_invalid")
    return SmsCheck(True)


SMS_MESSAGES = {
    "sms_code_expired": "验证码已过期，请重新获取",
    "sms_code_invalid": "验证码错误或已使用",
}


# --- login throttling ---------------------------------------------------------------------------------------------

def login_retry_after(failures: list[datetime], now: datetime, *, max_failures: int, window_seconds: int) -> int | None:
    """Seconds until a login may be tried again, or None. Counted over a sliding window: per username and client
    address (so that whoever knows a username, a site code say, cannot lock its holder out from elsewhere), and
    per client address over every username."""
    window = timedelta(seconds=window_seconds)
    recent = sorted(t for t in failures if now - t < window)
    if len(recent) < max_failures:
        return None
    # locked until the oldest failure that keeps the count at the limit leaves the window
    return max(1, int((recent[-max_failures] + window - now).total_seconds()) + 1)


def login_failures_that_count(earlier: list[dict[str, Any]]) -> list[datetime]:
    """``earlier``: the username's attempts numbered before this one (``n``, ``at``, ``state``). What counts:
    failures since the last success, and attempts still being judged (each may turn out a failure)."""
    last_success = max((a["n"] for a in earlier if a["state"] == "succeeded"), default=0)
    return [a["at"] for a in earlier if a["n"] > last_success and a["state"] in ("pending", "failed")]


def client_network(address: str | None) -> str:
    """What login throttling counts as one client: an IPv4 address, or an IPv6 /64 (one subscriber's prefix, from
    which any number of addresses can be taken)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def address_failures_that_count(earlier: list[dict[str, Any]]) -> list[datetime]:
    """``earlier``: one client address's attempts at any usernames. A success with one account does not forgive
    failures at others: every failure counts, and every attempt still being judged."""
    return [a["at"] for a in earlier if a["state"] in ("pending", "failed")]


def sms_sends_that_count(earlier: list[dict[str, Any]]) -> list[datetime]:
    """``earlier``: the number's send attempts before this one. Refused ones and those the channel certainly did
    not deliver (the code was dropped) do not count; those still under way, or that may have gone out, do."""
    return [a["at"] for a in earlier if a["state"] in ("pending", "sent", "uncertain")]


# --- managing accounts (issue #22) -------------------------------------------------------------------------------

GRANTABLE_ROLES = STAFF_ACCOUNT_ROLES - {Role.SUPERVISION_ENGINEER}  # engineers are made under their site (rule E6)


def may_manage_accounts(who: Principal) -> None:
    """Managing existing accounts (disable, enable, revoke sessions, grant roles): administrators of the ecology
    bureau, which leads everything; asked before anything about the account is looked up (deny by default)."""
    if who.role is not Role.ADMIN or who.department is not Department.ECOLOGY:
        raise Forbidden("仅生态环境部门管理员可以管理账户", code="role_not_allowed")


def may_manage(who: Principal, account_id: str, district: str | None) -> None:
    """Disabling, enabling an account and revoking its sessions: administrators of the ecology bureau (which leads
    everything), within their jurisdiction as for creating staff: a district administrator only accounts of their
    district; accounts without a district (owners, city-level staff) only at city level; never their own."""
    may_manage_accounts(who)
    if who.account_id == account_id:
        raise Forbidden("不能停用或变更自己的账户", code="own_account", field="account_id")
    if not who.city_level and district != who.district:
        raise Forbidden("只能管理本区县的账户 (outside your jurisdiction)", code="outside_jurisdiction")


def may_grant(who: Principal, account_id: str, current: Role, role: Role, department: Department | None,
              district: str | None) -> None:
    """Granting or changing a staff account's role: the administrator must manage the account as it stands and be
    allowed to create an account of the new role, department and district (``may_create_staff``). Owners, site
    admins and supervision engineers keep their roles: their accounts are bound to a mobile or a site."""
    may_manage_accounts(who)
    if current not in GRANTABLE_ROLES:
        raise ValidationFailed("该账户的角色不能变更", code="role_not_changeable", field="account_id")
    if role not in GRANTABLE_ROLES:
        raise ValidationFailed("工作人员角色无效", code="invalid_role", field="role")
    may_create_staff(who, role, department, district)
    if who.account_id == account_id:
        raise Forbidden("不能停用或变更自己的账户", code="own_account", field="account_id")
