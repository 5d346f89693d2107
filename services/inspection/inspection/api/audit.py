"""The inspection service's audit router: checks (with their violations), site duties, shared data."""

from __future__ import annotations

from fastapi import Request

from nrmm_kernel.audit_api import AuditConfig, MachineStreams, audit_router
from nrmm_kernel.codes import MalformedCode, parse_code

from ..app.spot_checks import SpotCheck
from ..domain.check import Check
from ..domain.duties import SiteDuties
from ..domain.special_equipment import Disclosure, SpecialEquipment
from ..projections.own import CHECKS

MAX_CHECKS = 500


async def machine_streams(request: Request, key: str) -> MachineStreams | None:
    """A machine's checks, by a code or its machine key (the checks read model answers: index on machine_key)."""
    try:
        machine_key = parse_code(key).machine_key
    except MalformedCode:
        machine_key = key
    checks = request.app.state.runtime.db[CHECKS]
    streams = [f"check-{doc['_id']}" async for doc in
               checks.find({"machine_key": machine_key}, projection={"_id": 1}).limit(MAX_CHECKS)]
    if not streams:
        return None
    return MachineStreams(streams, {"machine_key": machine_key})


router = audit_router(AuditConfig("inspection", {
    "check": Check, "duties": SiteDuties, "special-equipment": SpecialEquipment, "disclosure": Disclosure,
    "spot-check": SpotCheck}, machine_streams))
