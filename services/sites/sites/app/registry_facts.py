"""The registry's own word on a code, asked by the gate before it refuses on its copy of the codes (a copy can be
a moment behind: a code issued a moment ago, a correction, a cancellation)."""

from __future__ import annotations

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.internal import ServiceCaller
from nrmm_kernel.logging import get_logger

SERVICE_ACCOUNT = "svc-sites"
log = get_logger("registry_facts")


class RegistryFacts:
    def __init__(self, base_url: str, verifier: TokenVerifier, timeout: float = 3.0):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT, timeout=timeout)

    async def gate_facts(self, code: str) -> dict | None:
        """``{"record": ..., "declared": [...]}`` as the registry now knows them; None when it cannot be asked."""
        try:
            response = await self.caller.get("/api/registry/internal/gate-facts", {"code": code})
        except httpx.HTTPError as exc:
            log.warning("registry.unreachable", error=type(exc).__name__)
            return None
        if response.status_code != 200:
            log.warning("registry.refused", status=response.status_code)
            return None
        return response.json()
