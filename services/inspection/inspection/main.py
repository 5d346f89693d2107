"""Composition root of the inspection service.

Serve:    uvicorn inspection.main:create_app --factory --port 8003
Operate:  python -m inspection.main rebuild [projection]
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from nrmm_kernel.cli import run_cli
from nrmm_kernel.http import create_service_app
from nrmm_kernel.runtime import ServiceRuntime

from .api import routers
from .domain.events import registry
from .projections import projections
from .settings import Settings

DEFAULT_PORT = 8003


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    return ServiceRuntime(settings or Settings(), registry, projections())


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        title="Inspection service (监督检查)",
        description="Inspections, smoke tests, violations and rectification, department views, rankings.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_runtime))
