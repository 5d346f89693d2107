"""A topic a service creates gets NRMM_TOPIC_REPLICATION_FACTOR replicas (3 on a cluster: deploy/k8s config)."""

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from nrmm_kernel.bus import ensure_topics
from nrmm_kernel.settings import KernelSettings

pytestmark = pytest.mark.integration


def test_the_replication_factor_is_a_setting(monkeypatch):
    monkeypatch.delenv("NRMM_TOPIC_REPLICATION_FACTOR", raising=False)
    assert KernelSettings().topic_replication_factor == 1  # one broker: the development and test platforms
    monkeypatch.setenv("NRMM_TOPIC_REPLICATION_FACTOR", "3")
    assert KernelSettings().topic_replication_factor == 3


async def test_the_broker_is_asked_for_the_replication_factor(infra, topic_name):
    # the test broker is a single node: one replica is made, and more than one is refused by the broker itself
    with pytest.raises(RuntimeError, match="cannot create topic"):
        await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=1, replication_factor=2)
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=1, replication_factor=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic_name])
        assert [len(p["replicas"]) for p in description["partitions"]] == [1]
    finally:
        await admin.close()
