"""The registry's own word on a code, for services that keep a copy of its codes (the sites gate, inspections)
and must ask before they refuse or call a code unknown: a copy can be a moment behind."""

from __future__ import annotations

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.internal import ServiceCaller
from nrmm_kernel.logging import get_logger

log = get_logger("registry.client")


class RegistryFacts:
    def __init__(self, base_url: str, verifier: TokenVerifier, account_id: str, timeout: float = 3.0):
        self.caller = ServiceCaller(base_url, verifier, account_id, timeout=timeout)

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
