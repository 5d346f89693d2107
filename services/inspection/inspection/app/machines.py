"""What the inspection service knows of a scanned machine and a site: from its own copies of the registry's and
the sites' events (never their databases)."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.codes import EnvironmentalCode, MalformedCode, parse_code, parse_qr_payload
from nrmm_kernel.errors import NotFound, ValidationFailed

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


class Facts:
    def __init__(self, db: AsyncDatabase):
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
        if record is None and parsed.is_chongqing:
            raise NotFound("编码未登记 (unknown code)", code="unknown_code", field="qr" if qr is not None else "code")
        return Scanned(parsed, record)

    async def open_stay(self, site_code: str, machine_key: str) -> dict | None:
        return await self.stays.find_one({"site_code": site_code, "machine_key": machine_key, "inside": True})

    async def coded_as(self, serial_key: str) -> dict | None:
        """The registry's issued record of a machine once found uncoded (brand + factory serial)."""
        return await self.machines.find_one({"serial_key": serial_key, "in_force": True})
