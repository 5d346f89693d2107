"""Reference data every service shares: districts, departments, roles (../shared/DOMAIN.md)."""

from __future__ import annotations

from enum import StrEnum

# rule C5: characters 2-3 of a Chongqing code's serial are the district of use.
DISTRICTS: dict[str, str] = {
    "01": "万州区", "02": "黔江区", "03": "涪陵区", "04": "渝中区", "05": "大渡口区",
    "06": "江北区", "07": "沙坪坝区", "08": "九龙坡区", "09": "南岸区", "10": "北碚区",
    "11": "渝北区", "12": "巴南区", "13": "长寿区", "14": "江津区", "15": "合川区",
    "16": "永川区", "17": "南川区", "18": "綦江区", "19": "大足区", "20": "铜梁区",
    "21": "璧山区", "22": "潼南区", "23": "荣昌区", "24": "开州区", "25": "梁平区",
    "26": "武隆区", "27": "城口县", "28": "丰都县", "29": "忠县", "30": "垫江县",
    "31": "云阳县", "32": "奉节县", "33": "巫山县", "34": "巫溪县", "35": "石柱县",
    "36": "秀山县", "37": "酉阳县", "38": "彭水县", "39": "两江新区", "40": "万盛经开区",
    "41": "高新区",
}


# rule S1: the machine types a site reports at the gate (rule E2) and an owner registers (the registry's Category)
MACHINE_TYPES: tuple[str, ...] = ("excavator", "crane", "bulldozer", "loader", "road_roller", "paver", "grader",
                                  "piling", "forklift", "stacker", "tractor", "shuttle", "in_plant", "other")


def is_district(code: str | None) -> bool:
    return code in DISTRICTS


class Department(StrEnum):
    """The nine competent departments (主管部门); each exists at city and district level."""

    ECOLOGY = "ecology"  # 生态环境: leads everything
    ECONOMY = "economy"  # 经济信息: industrial enterprises
    PLANNING = "planning"  # 规划自然资源
    HOUSING = "housing"  # 住房城乡建设
    URBAN = "urban"  # 城市管理
    TRANSPORT = "transport"  # 交通
    WATER = "water"  # 水利
    STATE_ASSETS = "state_assets"  # 国资
    MARKET = "market"  # 市场监管


DEPARTMENT_NAMES: dict[Department, str] = {
    Department.ECOLOGY: "生态环境", Department.ECONOMY: "经济信息", Department.PLANNING: "规划自然资源",
    Department.HOUSING: "住房城乡建设", Department.URBAN: "城市管理", Department.TRANSPORT: "交通",
    Department.WATER: "水利", Department.STATE_ASSETS: "国资", Department.MARKET: "市场监管",
}


class Role(StrEnum):
    OWNER = "owner"
    REVIEWER = "reviewer"
    SITE_ADMIN = "site_admin"
    INSPECTOR = "inspector"
    DEPARTMENT_VIEWER = "department_viewer"
    SUPERVISION_ENGINEER = "supervision_engineer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"  # another service of the platform calling an internal endpoint; no jurisdiction
    # another department's system (market supervision's special-equipment platform, rule D5), signed in with OAuth2
    # client credentials issued by the gateway; its department is in the token, it has no district
    SYSTEM_CLIENT = "system_client"


STAFF_ROLES = frozenset(
    {Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.SUPERVISION_ENGINEER, Role.AUDITOR, Role.ADMIN}
)
