"""The registry's audit router: machine records (applications, issuance, owner changes...) as auditors see them."""

from __future__ import annotations

from fastapi import Request

from nrmm_kernel.audit_api import AuditConfig, MachineStreams, audit_router
from nrmm_kernel.codes import MalformedCode, parse_code

from ..app.code_index import CodeIndex
from ..domain.machine import MachineRecord


async def machine_streams(request: Request, key: str) -> MachineStreams | None:
    """A machine by any code it was issued, or by its record id (its identity in this registry)."""
    runtime = request.app.state.runtime
    try:
        machine_id = await CodeIndex(runtime.db).machine_id(parse_code(key).text)
    except MalformedCode:
        machine_id = key
    if machine_id is None or not await runtime.store.stream_version(f"machine-{machine_id}"):
        return None
    codes: list[str] = []
    for envelope in await runtime.store.read_stream(f"machine-{machine_id}"):
        code = envelope.data.get("code")
        if isinstance(code, str) and code not in codes:
            codes.append(code)
    return MachineStreams([f"machine-{machine_id}"], {
        "machine_id": machine_id, "codes": codes,
        "machine_keys": sorted({parse_code(c).machine_key for c in codes}),
    })


router = audit_router(AuditConfig("registry", {"machine": MachineRecord}, machine_streams))
