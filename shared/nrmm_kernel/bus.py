"""Kafka plumbing: topics, the idempotent producer, and the CloudEvents structured-mode encoding."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .envelope import EventEnvelope

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
# Event topics keep everything: other services rebuild their projections of these events from the topic.
TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1"}


def encode(envelope: EventEnvelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of one event: keyed by stream id so a stream keeps its order."""
    value = json.dumps(envelope.to_json_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    headers = [
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_id", envelope.id.encode()),
    ]
    return envelope.streamid.encode(), value, headers


def decode(value: bytes) -> EventEnvelope:
    return EventEnvelope.model_validate_json(value)


# The relay's watermark: a control message on each partition after a published batch (see positions.py).
CONTROL_HEADER = "nrmm-control"
WATERMARK = b"watermark"


def encode_watermark(position: int, partitions: int) -> tuple[bytes, list[tuple[str, bytes]]]:
    value = json.dumps({"watermark": position, "partitions": partitions}, separators=(",", ":")).encode()
    return value, [(CONTROL_HEADER, WATERMARK)]


def watermark_of(message: Any) -> tuple[int, int] | None:
    """(watermark, partitions of the topic) of a control message; None for an event."""
    for name, value in message.headers or ():
        if name == CONTROL_HEADER and value == WATERMARK:
            body = json.loads(message.value)
            return int(body["watermark"]), int(body["partitions"])
    return None


def is_control(message: Any) -> bool:
    return any(name == CONTROL_HEADER for name, _ in (message.headers or ()))


def make_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    options = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": True,  # broker drops retried duplicates within a producer session
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 30000,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 3, replication_factor: int = 1) -> None:
    """Creates the topics that do not exist yet (in Kubernetes the KafkaTopic resources have made them first)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor,
                          topic_configs=TOPIC_CONFIG)
                 for t in missing]
            )
            # errors come back per topic, not raised; another process creating it first is fine
            for topic, code, *rest in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"cannot create topic {topic}: error {code} {rest[0] if rest else ''}")
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partition numbers, sorted; none when the topic does not exist (yet). Asked of the broker
    through the admin client's public metadata call (a consumer without a group keeps no metadata it can show)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described: list[dict[str, Any]] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for t in described if t["topic"] == topic and t["error_code"] == 0
                  for p in t["partitions"])


class BrokerProbe:
    """Whether the broker answers, for a process that runs consumers but no producer: one admin connection kept
    for the process (opened at the first probe, opened anew after a failed one), asked for the topics."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None

    async def ping(self) -> None:
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2500)
                await self._admin.start()
            await self._admin.list_topics()
        except BaseException:  # a cancelled probe too (a readiness time limit): the next one connects afresh
            await self.close()
            raise

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            await admin.close()
