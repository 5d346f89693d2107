"""A service built on the kernel, over HTTP, on the real broker and database."""

import asyncio
import json
import secrets
import uuid

import httpx
import pytest

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Role
from nrmm_kernel.settings import KernelSettings
from tests.kafka_helpers import read_topic
from tests.sample_service import create_sample_app
from tests.waiting import async_wait_until


@pytest.fixture
async def service(infra, mongo):
    settings = KernelSettings(service_name=f"sample{uuid.uuid4().hex[:8]}", kafka_bootstrap=infra.kafka_bootstrap,
                              mongodb_url=infra.mongodb_url, log_level="DEBUG", relay_poll_seconds=0.05,
                              jwt_secret=secrets.token_urlsafe(32))
    app = create_sample_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as client:
            yield client, settings
    await mongo.drop_database(settings.database_name)


def bearer(settings: KernelSettings, role: Role, account: str = "owner-1") -> dict:
    verifier = TokenVerifier(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return {"Authorization": f"Bearer {verifier.mint(Principal(account_id=account, role=role))}"}


async def eventually_get(client, url, headers, attempts=150):
    last: list = [None]

    async def found():
        last[0] = response = await client.get(url, headers=headers)
        return response if response.status_code == 200 else None

    return await async_wait_until(found, timeout=attempts / 10, what=f"{url} answering 200",
                                  describe=lambda _: f"{last[0].status_code} {last[0].text[:300]}")


async def test_correlation_id_travels_from_request_to_event_to_consumer_logs(service, infra, mongo, capsys):
    client, settings = service
    owner = bearer(settings, Role.OWNER)
    created = await client.put("/api/sample/machines/m1", json={"code": "4-N01ABCDE", "category": "crane"},
                               headers={**owner, "X-Correlation-ID": "corr-from-phone"})
    assert created.status_code == 201, created.text
    assert created.headers["X-Correlation-ID"] == "corr-from-phone"

    view = await eventually_get(client, "/api/sample/machines/m1", owner)
    assert view.status_code == 200
    assert view.json() == {"code": "4-N01ABCDE", "category": "crane", "moves": 0, "retired": False, "site": None}

    stored = await EventStore(mongo[settings.database_name]).read_stream("machine-m1")
    assert [(e.correlationid, e.actorid, e.actorrole) for e in stored] == [("corr-from-phone", "owner-1", "owner")]
    on_topic = await read_topic(infra.kafka_bootstrap, settings.topic, at_least=1)
    assert [e.correlationid for e in on_topic] == ["corr-from-phone"]

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    consumer_lines = [x for x in lines if x.get("event") == "projection.applied"]
    assert consumer_lines and all(x["correlation_id"] == "corr-from-phone" for x in consumer_lines)
    request_lines = [x for x in lines if x.get("event") == "http.request" and x.get("method") == "PUT"]
    assert request_lines[0]["correlation_id"] == "corr-from-phone"


async def test_errors_have_a_stable_code_and_the_field_at_fault(service):
    client, settings = service
    owner = bearer(settings, Role.OWNER)
    bad = await client.put("/api/sample/machines/m2", json={"code": "4-N01ABCDI", "category": "crane"}, headers=owner)
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error" and bad.json()["field"] == "code"

    anonymous = await client.put("/api/sample/machines/m2", json={"code": "4-N01ABCDE", "category": "x"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    inspector = bearer(settings, Role.INSPECTOR)
    denied = await client.put("/api/sample/machines/m2", json={"code": "4-N01ABCDE", "category": "x"},
                              headers=inspector)
    assert denied.status_code == 403 and denied.json()["code"] == "role_not_allowed"

    missing = await client.post("/api/sample/machines/nope/moves", json={"site": "S", "expected_version": 0},
                                headers=owner)
    assert missing.status_code == 404 and missing.json()["field"] == "machine_id"


async def test_a_lost_expected_version_race_is_a_409_and_writes_nothing(service, mongo):
    client, settings = service
    owner = bearer(settings, Role.OWNER)
    await client.put("/api/sample/machines/m3", json={"code": "4-N01ABCDE", "category": "crane"}, headers=owner)
    moves = await asyncio.gather(*(
        client.post("/api/sample/machines/m3/moves", json={"site": f"S-{i}", "expected_version": 1}, headers=owner)
        for i in range(8)
    ))
    statuses = sorted(r.status_code for r in moves)
    assert statuses == [200] + [409] * 7
    conflict = next(r for r in moves if r.status_code == 409).json()
    assert conflict["code"] == "concurrent_modification"
    stored = await EventStore(mongo[settings.database_name]).read_stream("machine-m3")
    assert [e.streamversion for e in stored] == [1, 2]


async def test_health_readiness_and_metrics(service):
    client, _ = service
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = (await client.get("/metrics")).text
    assert "nrmm_relay_backlog_commits" in metrics
    assert "nrmm_consumer_lag_messages" in metrics
    assert "nrmm_http_request_seconds" in metrics
