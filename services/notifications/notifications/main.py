"""Composition root of the notifications service.

Serve:    uvicorn notifications.main:create_app --factory --port 8004
Operate:  python -m notifications.main rebuild [projection]
"""

from __future__ import annotations

import sys
from datetime import timedelta

from fastapi import FastAPI

from nrmm_kernel.cli import run_cli
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.forgetting import Shredder
from nrmm_kernel.http import create_service_app
from nrmm_kernel.personal import SubjectKeys
from nrmm_kernel.runtime import ServiceRuntime
from nrmm_kernel.supervisor import Health

from .api import routers
from .app.channels import make_channels
from .app.deliveries import Deliveries
from .app.feeds import Feeds
from .app.notices import Notices
from .app.personal import Disclosures, RegistryOpener
from .app.reminders import Reminders
from .asyncapi import build as build_asyncapi
from .domain.events import registry
from .projections import foreign_projections
from .settings import Settings

DEFAULT_PORT = 8004


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    # the notices come from other services' events: each topic read by its own consumer group
    return ServiceRuntime(settings or Settings(), registry, [], foreign=foreign_projections())


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings: Settings = runtime.settings
    offset = timedelta(seconds=settings.clock_offset_seconds)

    def clock():
        return utcnow() + offset

    app.state.channels = make_channels(settings, runtime.db)
    keys = SubjectKeys(runtime.db)  # #14: the numbers of SMS to owners, sealed under notifications' own keys
    app.state.disclosures = disclosures = Disclosures(runtime.db)
    await disclosures.ensure_indexes()
    app.state.deliveries = deliveries = Deliveries(runtime.db, app.state.channels, settings, clock,
                                                   keys=keys, disclosures=disclosures)
    app.state.notices = notices = Notices(runtime.db, deliveries, clock,
                                          timedelta(hours=settings.notice_sms_max_age_hours),
                                          opener=RegistryOpener(settings.registry_url, app.state.token_verifier))
    app.state.reminders = reminders = Reminders(runtime.db, notices, clock,
                                                timedelta(days=settings.reminder_max_lateness_days))
    await deliveries.ensure_indexes()
    await notices.ensure_indexes()
    await reminders.ensure_indexes()
    app.state.feeds = feeds = Feeds(runtime, settings, clock)
    await feeds.start()
    app.state.asyncapi = build_asyncapi()
    if runtime.run_background:
        for name, body in (
            ("fan-out", lambda stop, h: notices.run_fan_out(stop, h, reminders, settings.delivery_poll_seconds)),
            ("deliveries", deliveries.run),
            ("reminders", lambda stop, h: reminders.run(stop, h, settings.reminder_poll_seconds)),
        ):
            health = Health(name, needs_broker=False)
            # reminders: one instance at a time runs them (a lease); fan-out and deliveries claim each item
            runtime.supervise(name, lambda stop, body=body, health=health: body(stop, health), health=health,
                              leased=name == "reminders")
        feeds.supervise(runtime)
        shredder = Shredder(runtime.db, keys)
        runtime.supervise("shredder", shredder.run, health=shredder.health, needs_broker=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        on_start=wire,
        title="Notifications service (消息通知)",
        description="Notices from events into every account's inbox, SMS and WeChat messages with delivery status, "
                    "retries and dead letters, reminders on a durable schedule; department event feeds (pull, "
                    "Server-Sent Events, signed webhooks) and the platform's AsyncAPI document.",
        runtime=build_runtime(settings),
        routers=routers(),
    )


if __name__ == "__main__":
    sys.exit(run_cli(build_runtime))
