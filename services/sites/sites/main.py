"""Composition root of the sites service.

Serve:    uvicorn sites.main:create_app --factory --port 8002
Operate:  python -m sites.main rebuild [projection]
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from gateway.contracts import revocation_projections  # disabled accounts' tokens refused (#22)
from nrmm_kernel.cli import run_cli
from nrmm_kernel.http import create_service_app
from nrmm_kernel.runtime import ServiceRuntime
from registry.client import RegistryFacts

from .api import routers
from .app.accounts import GatewayAccounts
from .app.commands import SitesCommands
from .app.gate import GateCommands
from .app.queries import SitesQueries
from .app.streams import WriteSide
from .domain.events import registry
from .projections import projections, registry_projections
from .settings import Settings

DEFAULT_PORT = 8002


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    # the registry's codes arrive on the registry topic; the gate asks the registry only before refusing (rule E3)
    return ServiceRuntime(settings or Settings(), registry, projections(), foreign={"registry": registry_projections(),
                                                                               "gateway": revocation_projections()})


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings: Settings = runtime.settings
    accounts = GatewayAccounts(settings.gateway_url, app.state.token_verifier)
    write = WriteSide(runtime.db, runtime.store)
    await write.ensure_indexes()
    app.state.sites_commands = SitesCommands(write, accounts)
    registry_facts = RegistryFacts(settings.registry_url, app.state.token_verifier, "svc-sites")
    app.state.gate_commands = GateCommands(write, registry_facts, allow_two_sites=settings.allow_two_sites)
    app.state.sites_queries = SitesQueries(runtime.db)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        on_start=wire,
        title="Sites service (场地与进出场)",
        description="Sites, site admins, machine entry and exit by QR scan, restricted zones.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_runtime))
