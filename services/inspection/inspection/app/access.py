"""Who may do and read what in the inspection service (deny by default; rule D4 and the issue's matrix).

Inspectors of any department act in their district; owners see their machines' violations and rectify them;
site admins those of their site; department viewers their department (the ecology bureau: all) in their district;
supervision engineers their bound site; auditors everything (of their district, if they have one)."""

from __future__ import annotations

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Forbidden
from nrmm_kernel.reference import Department, Role

READERS = (Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.AUDITOR, Role.OWNER, Role.SITE_ADMIN,
           Role.SUPERVISION_ENGINEER)
STAFF_READERS = (Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.AUDITOR)
RECTIFIERS = (Role.OWNER, Role.SITE_ADMIN)
UPLOADERS = (Role.INSPECTOR, Role.OWNER, Role.SITE_ADMIN)


def require_inspector_at(who: Principal, site: dict) -> None:
    """rule D4: an inspector of any department checks machines and sites of their district."""
    if who.role is not Role.INSPECTOR:
        raise Forbidden("仅执法人员可执行检查 (inspectors only)", code="role_not_allowed")
    if not who.can_see_district(site.get("district")):
        raise Forbidden("只能检查本区县的场地 (outside your jurisdiction)", code="outside_jurisdiction")


def can_read(who: Principal, record: dict) -> bool:
    """A check or violation (or a site's duties) record, with its site's district and department."""
    if who.role is Role.OWNER:
        return record.get("owner_account_id") is not None and record.get("owner_account_id") == who.account_id
    if who.role in (Role.SITE_ADMIN, Role.SUPERVISION_ENGINEER):  # bound to one site (an engineer: of its district)
        return who.site_id is not None and who.site_id == record.get("site_code") and (
            who.role is Role.SITE_ADMIN or who.can_see_district(record.get("district")))
    if who.role not in STAFF_READERS or not who.can_see_district(record.get("district")):
        return False
    if who.role is Role.DEPARTMENT_VIEWER:
        return who.department is Department.ECOLOGY or (
            who.department is not None and who.department.value == record.get("department"))
    return True


def require_read(who: Principal, record: dict) -> None:
    if not can_read(who, record):
        if who.role is Role.OWNER:
            raise Forbidden("这不是您的机械 (not your machine)", code="not_your_violation")
        if who.role in (Role.SITE_ADMIN, Role.SUPERVISION_ENGINEER):
            raise Forbidden("只能查看本场地的数据 (not your site)", code="not_your_site")
        raise Forbidden("无权查看 (outside your jurisdiction)", code="outside_jurisdiction")


def staff_filter(who: Principal) -> dict:
    """The Mongo filter of what a reader may list."""
    if who.role is Role.OWNER:
        return {"owner_account_id": who.account_id}
    if who.role is Role.SITE_ADMIN:
        return {"site_code": who.site_id or {"$in": []}}
    query: dict = {}
    if who.role is Role.SUPERVISION_ENGINEER:
        query["site_code"] = who.site_id or {"$in": []}
    if not who.city_level:
        query["district"] = who.district
    if who.role is Role.DEPARTMENT_VIEWER and who.department is not Department.ECOLOGY:
        query["department"] = who.department.value if who.department else {"$in": []}
    return query


def require_rectifier(who: Principal, *, owner_account_id: str | None, site_code: str) -> None:
    """The violation's owner, or the admin of the site it was found on: nobody else's rectification counts."""
    if who.role is Role.OWNER and owner_account_id is not None and owner_account_id == who.account_id:
        return
    if who.role is Role.SITE_ADMIN and who.site_id == site_code:
        return
    raise Forbidden("只能整改自己的违规 (not your violation)", code="not_your_violation", field="violation_id")


def can_read_upload(who: Principal, meta: dict) -> bool:
    """Its uploader, and whoever may read a record it is evidence of."""
    return meta.get("account_id") == who.account_id or any(can_read(who, r) for r in meta.get("records", []))


def require_site_admin_of(who: Principal, site_code: str) -> None:
    if who.role is not Role.SITE_ADMIN or who.site_id != site_code:
        raise Forbidden("只能操作本场地 (not your site)", code="not_your_site")


def require_engineer_of(who: Principal, site: dict) -> None:
    """rule E6: the supervision engineer bound to this site (and of its district)."""
    if who.role is not Role.SUPERVISION_ENGINEER or who.site_id != site.get("site_code") \
            or not who.can_see_district(site.get("district")):
        raise Forbidden("只能审核所监理场地的凭证 (not your site)", code="not_your_site")


def site_record(site: dict) -> dict:
    """A site as a record the read rules apply to (no owner)."""
    return {"site_code": site.get("site_code"), "district": site.get("district"),
            "department": site.get("department")}
