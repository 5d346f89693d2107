"""Test infrastructure: a real Kafka broker and a real MongoDB-wire database, chosen in this order:

1. endpoints in NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL;
2. testcontainers (Apache Kafka KRaft + mongo:7) where a Docker engine answers;
3. the native scripts (deploy/native.sh: Apache Kafka from Maven Central + FerretDB).
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from nrmm_kernel.query_shapes import ENV as QUERY_SHAPES_ENV
from nrmm_kernel.runtime import mongo_client

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    mongodb_url: str
    origin: str


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


def _choose_infra() -> tuple[Infra, list]:
    kafka, mongo = os.environ.get("NRMM_KAFKA_BOOTSTRAP"), os.environ.get("NRMM_MONGODB_URL")
    if kafka and mongo:
        return Infra(kafka, mongo, "environment"), []
    if _docker_answers():
        return _containers()
    subprocess.run([str(ROOT / "deploy" / "native.sh"), "start"], check=True)
    env = subprocess.run([str(ROOT / "deploy" / "native.sh"), "env"], check=True, capture_output=True, text=True)
    values = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines())
    return Infra(values["NRMM_KAFKA_BOOTSTRAP"], values["NRMM_MONGODB_URL"], "native"), []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _containers() -> tuple[Infra, list]:
    """Apache Kafka (KRaft) and MongoDB 7 in containers, the same images as docker-compose.yml."""
    from testcontainers.community.mongodb import MongoDbContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    port = _free_port()  # the broker must advertise the host port, so it is chosen before start
    broker = (
        DockerContainer("apache/kafka:3.9.1")
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    database = MongoDbContainer("mongo:7")
    broker.start()
    wait_for_logs(broker, "Kafka Server started", timeout=120)
    database.start()
    return Infra(f"127.0.0.1:{port}", database.get_connection_url(), "testcontainers"), [broker, database]


_INFRA: Infra | None = None


@pytest.fixture(scope="session")
def infra() -> Infra:
    global _INFRA
    if _INFRA is None:
        _INFRA, containers = _choose_infra()
        for container in containers:
            import atexit

            atexit.register(container.stop)
        print(f"\n[infra] {_INFRA.origin}: kafka={_INFRA.kafka_bootstrap} db={_INFRA.mongodb_url}")
    return _INFRA


@pytest.fixture
async def mongo(infra):
    client = mongo_client(infra.mongodb_url)
    yield client
    await client.close()


@pytest.fixture
async def db(mongo):
    """A database of its own for each test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield mongo[name]
    await mongo.drop_database(name)


@pytest.fixture
def topic_name() -> str:
    return f"test.{uuid.uuid4().hex[:12]}.events"


def pytest_report_header(config):
    kafka, mongo = os.environ.get("NRMM_KAFKA_BOOTSTRAP"), os.environ.get("NRMM_MONGODB_URL")
    if kafka and mongo:
        return f"infrastructure: environment (kafka={kafka}, db={mongo})"
    return "infrastructure: chosen at first use (testcontainers if Docker answers, else deploy/native.sh)"


def pytest_configure(config):
    """Every client of this session and of the services it starts records its query shapes in one fresh file
    (nrmm_kernel.query_shapes), which tests/indexes/test_query_shapes.py checks at the end of the run."""
    if not os.environ.get(QUERY_SHAPES_ENV):
        shapes = Path(os.environ.get("NRMM_VAR_DIR") or ROOT / "var") / "query-shapes" / f"{uuid.uuid4().hex}.jsonl"
        shapes.parent.mkdir(parents=True, exist_ok=True)
        os.environ[QUERY_SHAPES_ENV] = str(shapes)


def pytest_collection_modifyitems(config, items):
    """A test that reaches the broker or the database (the ``infra`` fixture, directly or through another fixture)
    carries the ``integration`` marker, so ``-m "not integration"`` is a pure subset that needs no infrastructure.
    Tests marked ``last`` run after all others (the query-shape check reads what the whole run sent)."""
    for item in items:
        if "infra" in getattr(item, "fixturenames", ()) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)  # stable: the order is kept otherwise


INFRA_PORTS = frozenset({9092, 27017})  # the broker's and the database's standard ports


@pytest.fixture(autouse=True)
def _no_infrastructure_without_the_marker(request, monkeypatch):
    """A test without the ``integration`` marker that opens a connection to the broker or the database fails."""
    if request.node.get_closest_marker("integration") is not None:
        return
    connect = socket.socket.connect

    def guarded(sock, address):
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in INFRA_PORTS:
            raise AssertionError(f"{request.node.nodeid} reaches {address}: mark it integration")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
