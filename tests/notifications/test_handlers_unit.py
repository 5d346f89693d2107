"""The notifications service's handlers, without infrastructure (PyMongo's async API over mongomock, an injected
clock, a channel that fails on demand): a message sent at once or retried until it is dead and redelivered; a
notice made once per recipient with its SMS; a reminder fired once, or skipped when its condition no longer holds.
Over HTTP with the real database and broker: the ``integration`` tests beside this file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from notifications.app.channels import Channels, DeliveryFailed, OutboxChannel
from notifications.app.deliveries import Deliveries
from notifications.app.notices import Notices
from notifications.app.reminders import Reminders
from notifications.domain.messages import ChannelKind, Message
from tests.memory_db import MemoryDatabase

SETTINGS = SimpleNamespace(delivery_max_attempts=2, delivery_lease_seconds=30, provider_timeout_seconds=5,
                           delivery_retry_seconds=10)
CODE_SMS = Message(channel=ChannelKind.SMS, to="13800138000", template="verification_code",
                   params={"code": "123456", "minutes": 5})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Flaky:
    """An SMS provider that refuses while ``down``."""

    def __init__(self) -> None:
        self.down, self.sent = False, []

    async def send(self, message: Message, dedup_key: str) -> str:
        if self.down:
            raise DeliveryFailed("isv.BUSINESS_LIMIT_CONTROL", "throttled")
        self.sent.append(dedup_key)
        return f"provider-{dedup_key}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider() -> Flaky:
    return Flaky()


@pytest.fixture
async def deliveries(clock, provider) -> Deliveries:
    db = MemoryDatabase()
    deliveries = Deliveries(db, Channels({ChannelKind.SMS: provider, ChannelKind.WECHAT: provider},
                                         OutboxChannel(db)), SETTINGS, clock)
    await deliveries.ensure_indexes()
    return deliveries


async def test_a_message_sent_at_once_and_one_retried_until_dead_then_redelivered(deliveries, provider, clock):
    sent = await deliveries.send_now(CODE_SMS, "d-1")
    assert sent["status"] == "sent" and provider.sent == ["d-1"]
    provider.down = True
    await deliveries.enqueue(CODE_SMS, "d-2")
    assert (await deliveries.enqueue(CODE_SMS, "d-2"))["attempts"] == 0  # enqueued once
    assert (await deliveries.attempt("d-2"))["status"] == "pending"
    assert (await deliveries.attempt("d-2"))["attempts"] == 1  # not due again before its retry delay
    clock.advance(10)
    dead = await deliveries.attempt("d-2")
    assert dead["status"] == "dead" and dead["error_code"] == "isv.BUSINESS_LIMIT_CONTROL"
    provider.down = False
    assert (await deliveries.redeliver("d-2"))["status"] == "pending"
    assert (await deliveries.attempt("d-2"))["status"] == "sent" and provider.sent == ["d-1", "d-2"]


async def test_a_notice_is_made_once_per_recipient_and_a_reminder_fires_once_while_due(deliveries, clock):
    db = deliveries.coll.database
    notices = Notices(db, deliveries, clock)
    reminders = Reminders(db, notices, clock)
    await notices.ensure_indexes()
    await reminders.ensure_indexes()
    spec = {"template": "site_registered", "to": {"account": "acc-S-1", "mobile": "13900001111"},
            "params": {"site_name": "轨道交通18号线", "site_code": "S-1"}}
    assert await notices.emit(spec, "event-1") == 1
    assert await notices.emit(spec, "event-1") == 0  # a redelivered event makes nothing twice
    assert await db["notices"].count_documents({"account_id": "acc-S-1"}) == 1
    assert await deliveries.coll.count_documents({}) == 1  # and one SMS
    old = clock.now - timedelta(days=5)
    assert await notices.emit({**spec, "params": {**spec["params"], "site_code": "S-2"}}, "event-2",
                              outside=notices._recent(old)) == 1
    assert await deliveries.coll.count_documents({}) == 1  # an old event: the inbox only

    reminder = {"key": "r-1", "due_at": clock.now + timedelta(days=1), "template": "violation_due_soon",
                "to": {"account": "owner-1"}, "params": {"site_code": "S-1", "machine": "4-N04ABCDE",
                                                         "due_on": "2026-12-01"}}
    await reminders.schedule(reminder, "event-3")
    await reminders.schedule(reminder, "event-3")
    assert await reminders.fire_due() == 0  # not due yet
    clock.advance(86400)
    assert await reminders.fire_due() == 1
    assert await reminders.fire_due() == 0  # sent once
    await reminders.schedule({**reminder, "key": "r-2", "condition": {"violation_open": "v-closed"}}, "event-4")
    clock.advance(86400)
    assert await reminders.fire_due() == 0  # its violation is not open: skipped
    assert (await reminders.coll.find_one({"_id": "r-2"}))["status"] == "skipped"
