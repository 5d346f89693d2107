"""What the inspection service knows of a scanned machine and a site: from its own copies of the registry's and
the sites' events (never their databases)."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.codes import EnvironmentalCode, MalformedCode, parse_code, parse_qr_payload
from nrmm_kernel.errors import AppError, NotFound, ValidationFailed
from registry.client import RegistryFacts

from ..projections.foreign import REGISTRY_MACHINES, SITES, STAYS


@dataclass(frozen=True)
class Scanned:
    code: EnvironmentalCode
    record: dict | None  # the registry's record; None: another province's code (rule C3)

    @property
    def registered(self) -> dict:
        return (self.record or {}).get("machine") or {}

    @property
    def stage(self) -> str:
        return self.registered.get("emission_stage") or self.code.stage


def read_code(qr: str | None, code: str | None) -> EnvironmentalCode:
    field = "qr" if qr is not None else "code"
    text = parse_qr_payload(qr if qr is not None else code)
    if text is None:
        raise ValidationFailed("不是环保编码二维码 (not an NRMM code)", code="malformed_code", field=field)
    try:
        return parse_code(text)
    except MalformedCode as exc:
        raise ValidationFailed(exc.message, code="malformed_code", field=field) from None


class RegistryWord:
    """The registry's own word on a code, asked once before a code is called unknown: the copy can be a moment
    behind (a code issued a moment ago)."""

    def __init__(self, base_url: str, verifier: TokenVerifier, timeout: float = 3.0):
        self.facts = RegistryFacts(base_url, verifier, "svc-inspection", timeout=timeout)

    async def knows(self, code: str) -> bool | None:
        """Whether the registry has a record for this code; None when it cannot be asked."""
        answer = await self.facts.gate_facts(code)
        return None if answer is None else answer.get("record") is not None


class Facts:
    def __init__(self, db: AsyncDatabase, registry: RegistryWord | None = None):
        self.registry = registry
        self.machines = db[REGISTRY_MACHINES]
        self.sites = db[SITES]
        self.stays = db[STAYS]

    async def site(self, site_code: str) -> dict:
        site = await self.sites.find_one({"_id": site_code.strip().upper()})
        if site is None:
            raise NotFound("场地不存在 (unknown site)", code="unknown_site", field="site_code")
        return site

    async def scan(self, qr: str | None, code: str | None) -> Scanned:
        """rules C3, D4: a Chongqing code must be the registry's; another province's is valid as it is."""
        parsed = read_code(qr, code)
        record = await self.machines.find_one({"codes": parsed.text})
        field = "qr" if qr is not None else "code"
        if record is None and parsed.is_chongqing:
            known = await self.registry.knows(parsed.text) if self.registry is not None else False
            if known is None:
                raise AppError("暂时无法核实编码，请稍后重试 (registry unreachable)", code="registry_unreachable",
                               status=503, field=field)
            if known:
                raise AppError("编码刚刚登记，数据同步中，请稍后重试 (just issued: retry in a moment)",
                               code="code_not_yet_known", status=409, field=field)
            raise NotFound("编码未登记 (unknown code)", code="unknown_code", field=field)
        return Scanned(parsed, record)

    async def open_stay(self, site_code: str, machine_key: str) -> dict | None:
        return await self.stays.find_one({"site_code": site_code, "machine_key": machine_key, "inside": True})

    async def coded_as(self, serial_key: str) -> dict | None:
        """The registry's issued record of a machine once found uncoded (brand + factory serial)."""
        return await self.machines.find_one({"serial_key": serial_key, "in_force": True})
