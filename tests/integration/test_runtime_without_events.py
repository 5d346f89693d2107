"""A service without events of its own (the gateway, notifications) starts no event store, producer or relay;
it touches the broker only for the projections it runs. Real broker and database."""

import secrets
import uuid

from nrmm_kernel.envelope import EventRegistry
from nrmm_kernel.runtime import ServiceRuntime
from nrmm_kernel.settings import KernelSettings
from tests.sample import MachineView


def settings_for(infra) -> KernelSettings:
    return KernelSettings(service_name=f"noevents{uuid.uuid4().hex[:8]}", kafka_bootstrap=infra.kafka_bootstrap,
                          mongodb_url=infra.mongodb_url, jwt_secret=secrets.token_urlsafe(32))


def no_events() -> EventRegistry:
    return EventRegistry(namespace="test.nrmm.quiet", source="/nrmm/quiet")


async def test_a_service_without_events_or_projections_never_touches_the_broker(infra, mongo):
    # a broker nobody listens on: the runtime must not need it
    settings = settings_for(infra).model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})
    runtime = ServiceRuntime(settings, no_events())
    await runtime.start()
    try:
        assert (runtime.store, runtime.producer, runtime.relay) == (None, None, None)
        ready, body = await runtime.readiness()
        assert ready and body["checks"] == {"database": "ok"} and body["runners"] == {}, body
        assert body["degraded"] == []
    finally:
        await runtime.stop()
        await mongo.drop_database(settings.database_name)


async def test_a_service_without_events_that_reads_anothers_topic_checks_only_the_broker(infra, mongo):
    settings = settings_for(infra)
    runtime = ServiceRuntime(settings, no_events(), foreign={"sample": [MachineView()]})
    await runtime.start()
    try:
        assert (runtime.store, runtime.producer, runtime.relay) == (None, None, None)
        ready, body = await runtime.readiness()
        assert body["checks"] == {"database": "ok", "broker": "ok"}, body
        assert "relay" not in body["runners"] and "projector-from-sample" in body["runners"], body
    finally:
        await runtime.stop()
        await mongo.drop_database(settings.database_name)
