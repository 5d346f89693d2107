"""Composition root of the registry service.

Serve:    uvicorn registry.main:create_app --factory --port 8001
Operate:  python -m registry.main rebuild [projection]
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from gateway.contracts import revocation_projections  # disabled accounts' tokens refused (#22)
from nrmm_kernel.cli import run_cli
from nrmm_kernel.forgetting import Shredder
from nrmm_kernel.http import create_service_app
from nrmm_kernel.personal import SubjectKeys
from nrmm_kernel.runtime import ServiceRuntime
from nrmm_kernel.sealing import SealingStore

from .api import routers
from .app.commands import RegistryCommands
from .app.erasure import Disclosures, PersonalData
from .app.owners import OwnerDirectory
from .app.queries import RegistryQueries
from .app.sealing import SEAL_RULES
from .domain.events import registry
from .projections import projections
from .projections.disclosures import disclosure_projections
from .settings import Settings

DEFAULT_PORT = 8001


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    # manufacturers' disclosures (rule N1) arrive on the inspection service's topic, into the registry's own copy
    return ServiceRuntime(settings or Settings(), registry, projections(),
                          foreign={"inspection": disclosure_projections(), "gateway": revocation_projections()})


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings = runtime.settings
    owners = OwnerDirectory(settings.gateway_url, app.state.token_verifier)
    keys = SubjectKeys(runtime.db)
    store = SealingStore(runtime.store, keys, SEAL_RULES, runtime.db)  # personal fields sealed (#14)
    await store.ensure_indexes()
    app.state.registry_commands = RegistryCommands(runtime.db, store, owners=owners)
    await app.state.registry_commands.identities.ensure_indexes()
    await app.state.registry_commands.uploads.ensure_indexes()
    app.state.registry_queries = RegistryQueries(runtime.db, keys)
    app.state.personal_data = PersonalData(store, keys, Disclosures(settings.notifications_url,
                                                                    app.state.token_verifier),
                                           settings.personal_retention_days)
    shredder = Shredder(runtime.db, keys)
    runtime.supervise("shredder", shredder.run, health=shredder.health, needs_broker=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        on_start=wire,
        title="Registry service (环保编码登记)",
        description="Environmental codes: applications, review, issuance, plate and card, owner change, "
        "cancellation, reissue.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_runtime))
