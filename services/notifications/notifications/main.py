"""Composition root of the notifications service.

Serve:    uvicorn notifications.main:create_app --factory --port 8004
Operate:  python -m notifications.main rebuild [projection]
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from nrmm_kernel.cli import run_cli
from nrmm_kernel.http import create_service_app
from nrmm_kernel.runtime import ServiceRuntime

from .api import routers
from .app.channels import make_channel
from .domain.events import registry
from .projections import projections
from .settings import Settings

DEFAULT_PORT = 8004


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    return ServiceRuntime(settings or Settings(), registry, projections())


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    app.state.message_channel = make_channel(runtime.settings, runtime.db)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        on_start=wire,
        title="Notifications service (消息通知)",
        description="Inbox, SMS and WeChat messages, deadline reminders, department feeds.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_runtime))
