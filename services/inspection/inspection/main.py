"""Composition root of the inspection service.

Serve:    uvicorn inspection.main:create_app --factory --port 8003
Operate:  python -m inspection.main rebuild [projection]
          python -m inspection.main import-special-equipment FILE   (and import-disclosures FILE)
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from gateway.contracts import revocation_projections  # disabled accounts' tokens refused (#22)
from nrmm_kernel.cli import run_cli
from nrmm_kernel.http import create_service_app

from .api import routers
from .app.checks import CheckCommands
from .app.duties import DutyCommands, DutyQueries
from .app.machines import RegistryWord
from .app.queries import Queries
from .app.sharing_queries import SharingQueries
from .app.spot_checks import SpotChecks
from .app.uploads import UploadStore
from .app.views_queries import ViewsQueries
from .app.violations import ViolationCommands
from .domain.events import registry
from .domain.rules import deadline_days
from .domain.scoring import weights_from
from .projections import projections, registry_projections, sites_projections
from .runtime import InspectionRuntime
from .settings import Settings

DEFAULT_PORT = 8003


def build_runtime(settings: Settings | None = None) -> InspectionRuntime:
    # what a check needs of the registry and the sites arrives on their topics, into this service's own copies
    return InspectionRuntime(settings or Settings(), registry, projections(),
                             foreign={"registry": registry_projections(), "sites": sites_projections(),
                                      "gateway": revocation_projections()})


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings: Settings = runtime.settings
    uploads = UploadStore(runtime.db)
    registry_word = RegistryWord(settings.registry_url, app.state.token_verifier)
    app.state.inspection_uploads = uploads
    app.state.inspection_checks = CheckCommands(runtime.db, runtime.store, uploads,
                                                deadline_days=deadline_days(settings.violation_deadline_days),
                                                smoke_class_in_zones=settings.smoke_class_in_zones,
                                                registry_word=registry_word)
    app.state.inspection_violations = ViolationCommands(runtime.store, uploads,
                                                        smoke_class_in_zones=settings.smoke_class_in_zones)
    app.state.inspection_queries = Queries(runtime.db, registry_word)
    app.state.duty_commands = DutyCommands(runtime.db, runtime.store, uploads)
    app.state.duty_queries = DutyQueries(runtime.db)
    app.state.inspection_scheduler = runtime.scheduler
    # data sharing (rules D5, N1, N2)
    app.state.sharing_imports = runtime.sharing
    app.state.import_jobs = runtime.import_jobs
    app.state.sharing_queries = SharingQueries(runtime.db)
    app.state.spot_checks = SpotChecks(runtime.store, runtime.sharing, uploads)
    app.state.views_queries = ViewsQueries(runtime.db, weights_from(settings.ranking_weights))  # rules D3, D6


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        on_start=wire,
        title="Inspection service (监督检查)",
        description="Inspections, smoke tests, violations and rectification, department views, rankings.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    from .app.sharing_cli import COMMANDS, run

    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        sys.exit(run(sys.argv[1], sys.argv[2:], build_runtime))
    sys.exit(run_cli(build_runtime))
