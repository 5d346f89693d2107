"""Who may read and write what in the sites service (deny by default)."""

from __future__ import annotations

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Forbidden
from nrmm_kernel.reference import Department, Role

# staff who read sites, rosters and movements (within their district; other departments: their own sites)
SITE_READERS = (Role.REVIEWER, Role.ADMIN, Role.AUDITOR, Role.INSPECTOR, Role.DEPARTMENT_VIEWER,
                Role.SUPERVISION_ENGINEER)
# staff who manage restricted zones: the ecology bureau (rule E4)
ZONE_MANAGERS = (Role.REVIEWER, Role.ADMIN)


# bound to one site, as its admin is: a supervision company (监理) supervises the sites it is contracted to (rule E6)
SITE_BOUND = (Role.SITE_ADMIN, Role.SUPERVISION_ENGINEER)


def governs(who: Principal, department: str | None) -> bool:
    """Staff of the ecology bureau, which leads everything, or of the site's own department."""
    return who.department is Department.ECOLOGY or (who.department is not None and who.department == department)


def sees_all_departments(who: Principal) -> bool:
    """The ecology bureau leads everything; auditors read the full history (of their district, if they have one).
    Anybody else sees only their own department's sites: an account without a department sees none."""
    return who.department is Department.ECOLOGY or who.role is Role.AUDITOR


def can_read_site(who: Principal, site: dict) -> bool:
    if who.role in SITE_BOUND:
        return who.site_id is not None and who.site_id == site.get("site_code") \
            and (who.role is Role.SITE_ADMIN or who.can_see_district(site.get("district")))
    if who.role not in SITE_READERS or not who.can_see_district(site.get("district")):
        return False
    return sees_all_departments(who) or governs(who, site.get("department"))


def require_read_site(who: Principal, site: dict) -> None:
    if not can_read_site(who, site):
        if who.role is Role.SITE_ADMIN:
            raise Forbidden("只能查看本场地的数据 (not your site)", code="not_your_site")
        raise Forbidden("无权查看该场地 (outside your jurisdiction)", code="outside_jurisdiction")


def require_site_admin_of(who: Principal, site_code: str) -> None:
    if who.role is not Role.SITE_ADMIN or who.site_id != site_code:
        raise Forbidden("只能操作本场地 (not your site)", code="not_your_site")


def require_manage_site(who: Principal, site: dict) -> None:
    """The site's own admin, or a platform administrator of its district and its department (or the ecology
    bureau's, which leads everything)."""
    if who.role is Role.SITE_ADMIN:
        require_site_admin_of(who, site["site_code"])
        return
    if who.role is not Role.ADMIN:
        raise Forbidden("无权修改场地 (role not allowed)", code="role_not_allowed")
    who.require_district(site.get("district"))
    if not governs(who, site.get("department")):
        raise Forbidden("只能管理本部门主管的场地 (another department's site)", code="outside_jurisdiction")


def require_manage_zone(who: Principal, district: str) -> None:
    if who.role not in ZONE_MANAGERS or who.department is not Department.ECOLOGY:
        raise Forbidden("禁用区由生态环境部门管理 (ecology bureau only)", code="role_not_allowed")
    who.require_district(district)


def staff_filter(who: Principal) -> dict:
    """The Mongo filter limiting a staff member's searches to their district and department."""
    query: dict = {}
    if not who.city_level:
        query["district"] = who.district
    if who.role in SITE_BOUND:
        query["site_code"] = who.site_id or {"$in": []}
    elif not sees_all_departments(who):
        query["department"] = who.department.value if who.department else {"$in": []}
    return query


def require_department_admin(who: Principal, department: str | None, district: str | None) -> None:
    """rule D3: the named department's administrator of the site's district (or of the city) confirms what it
    governs; nobody else, not even the ecology bureau, speaks for another department."""
    if who.role is not Role.ADMIN:
        raise Forbidden("须由主管部门管理员确认 (role not allowed)", code="role_not_allowed")
    if department is None or who.department is None or who.department.value != department:
        raise Forbidden("只能由该场地的主管部门确认 (another department)", code="another_department")
    who.require_district(district)
