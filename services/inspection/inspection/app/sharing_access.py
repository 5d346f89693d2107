"""Who may do and read what of data sharing (deny by default; rules D5, N1, N2).

- Importing special equipment and disclosures: market supervision's system client (OAuth2 client credentials), and
  city-level administrators of the ecology bureau or of market supervision (upload).
- Follow-up tasks and their progress: the ecology bureau (inspectors, department viewers, administrators) in
  their district, market supervision (its viewers, administrators and its system client), auditors.
- Spot checks (rule N2): recorded by inspectors of the ecology bureau or market supervision in their district; read
  by the same departments' staff and auditors.
- Disclosures are public (rule N1): no sign-in.
"""

from __future__ import annotations

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Forbidden
from nrmm_kernel.reference import Department, Role

SHARING_DEPARTMENTS = frozenset({Department.ECOLOGY, Department.MARKET})
IMPORTERS = (Role.ADMIN, Role.SYSTEM_CLIENT)
READERS = (Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.ADMIN, Role.AUDITOR, Role.SYSTEM_CLIENT)
SPOT_READERS = (Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.ADMIN, Role.AUDITOR)


def require_importer(who: Principal) -> None:
    if who.role is Role.SYSTEM_CLIENT and who.department is Department.MARKET:
        return  # rule D5: market supervision's special-equipment platform
    if who.role is Role.ADMIN and who.district is None and who.department in SHARING_DEPARTMENTS:
        return
    raise Forbidden("仅市场监管系统或市级生态环境、市场监管管理员可导入 (not an importer)", code="not_an_importer")


def reader_district(who: Principal, district: str | None) -> str | None:
    """The district a reader's list is limited to (None: all); refuses what the reader may not see."""
    if who.role is Role.SYSTEM_CLIENT:
        if who.department is not Department.MARKET:
            raise Forbidden("无权查看 (not market supervision)", code="department_not_allowed")
        return district
    if who.role is not Role.AUDITOR and who.department not in SHARING_DEPARTMENTS:
        raise Forbidden("仅生态环境和市场监管部门可查看 (ecology and market supervision only)",
                        code="department_not_allowed")
    if who.city_level:
        return district
    if district is not None and district != who.district:
        raise Forbidden("无权访问其他区县的数据 (outside your jurisdiction)", code="outside_jurisdiction",
                        field="district")
    return who.district


def require_spot_checker(who: Principal, district: str) -> None:
    """rule N2: the ecology bureau with market supervision, in their district."""
    if who.role is not Role.INSPECTOR or who.department not in SHARING_DEPARTMENTS:
        raise Forbidden("仅生态环境或市场监管部门的执法人员可抽查 (ecology or market inspectors only)",
                        code="department_not_allowed")
    if not who.can_see_district(district):
        raise Forbidden("只能抽查本区县 (outside your jurisdiction)", code="outside_jurisdiction", field="district")
