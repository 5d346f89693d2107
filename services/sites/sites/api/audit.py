"""The sites service's audit router: sites, zones, machines' presence at sites, gate refusals."""

from __future__ import annotations

from fastapi import Request

from nrmm_kernel.audit_api import AuditConfig, MachineStreams, audit_router
from nrmm_kernel.codes import MalformedCode, parse_code

from ..domain.gate import GateRefusal, MachinePresence
from ..domain.site import Site, Zone


async def machine_streams(request: Request, key: str) -> MachineStreams | None:
    """A machine's presence stream, by a code or by its machine key (the code without its stage)."""
    try:
        machine_key = parse_code(key).machine_key
    except MalformedCode:
        machine_key = key
    stream = f"presence-{machine_key}"
    if not await request.app.state.runtime.store.stream_version(stream):
        return None
    return MachineStreams([stream], {"machine_key": machine_key})


router = audit_router(AuditConfig("sites", {"site": Site, "zone": Zone, "presence": MachinePresence,
                                            "refusal": GateRefusal}, machine_streams))
