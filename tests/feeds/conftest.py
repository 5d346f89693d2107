"""The notifications service as a real process on the real broker and database; the events of the registry, sites
and inspection services are put on their topics here, as their relays would."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nrmm_kernel import bus
from nrmm_kernel.reference import Department, Role
from tests.feeds.receiver import Receiver
from tests.platform import start_platform

FEED_ENV = {
    "NRMM_FEED_ALLOW_LOOPBACK_HTTP": "true",  # the receivers listen on http://127.0.0.1
    "NRMM_FEED_WEBHOOK_RETRY_SECONDS": "0.2", "NRMM_FEED_WEBHOOK_MAX_ATTEMPTS": "3",
    "NRMM_FEED_WEBHOOK_TIMEOUT_SECONDS": "2",
}


@pytest.fixture(scope="module")
def platform(infra):
    running = start_platform(infra, ["notifications"], FEED_ENV)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def receiver():
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


def admin(platform, department: Department, district: str | None) -> dict:
    return platform.token(Role.ADMIN, f"adm-{department.value}-{district or 'city'}", district=district,
                          department=department)


def publish(platform, infra, service: str, contract, stream: str, events: list, first_version: int = 1) -> list[str]:
    """Put events on a service's topic as its relay would; their ids."""
    envelopes = [contract.wrap(e, stream_id=stream, stream_version=v) for v, e in enumerate(events, first_version)]

    async def send():
        producer = bus.make_producer(infra.kafka_bootstrap)
        await producer.start()
        try:
            for envelope in envelopes:
                key, value, headers = bus.encode(envelope)
                await producer.send_and_wait(platform.topic(service), value=value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(send())
    return [e.id for e in envelopes]


def subscribe(http, headers: dict, **body) -> dict:
    body = {"name": f"订阅 {uuid.uuid4().hex[:6]}", **body}
    answer = http.post("/api/notifications/subscriptions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def pull(http, headers: dict, subscription_id: str, cursor: str | None = None, limit: int = 100) -> dict:
    params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    answer = http.get(f"/api/notifications/feeds/{subscription_id}/events", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
