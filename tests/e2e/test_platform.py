"""The README's run command on real infrastructure: every service process comes up and answers /readyz."""

import os
import subprocess
import uuid

import httpx

from tests.conftest import ROOT

SERVICES = ["gateway", "registry", "sites", "inspection", "notifications"]
WITH_EVENTS = {"registry", "sites", "inspection", "gateway"}  # these start an event store, a producer, a relay


def test_run_command_starts_every_service_and_each_answers_readyz(infra, tmp_path):
    namespace = f"e2e{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "NRMM_MONGODB_URL": infra.mongodb_url,
           "NRMM_PORT_BASE": "18100", "NRMM_VAR_DIR": str(tmp_path), "NRMM_NAMESPACE": namespace,
           "NRMM_BOOTSTRAP_ADMIN_USERNAME": "e2e-admin", "NRMM_BOOTSTRAP_ADMIN_PASSWORD": "E2e-Admin-Passw0rd"}
    script = str(ROOT / "deploy" / "run.sh")
    # deploy/native.sh keeps the infrastructure's pid files in the same directory: a stop of the services leaves
    # those processes alone (here a stand-in for Kafka)
    (tmp_path / "run").mkdir()
    infrastructure = subprocess.Popen(["sleep", "300"])
    (tmp_path / "run" / "kafka.pid").write_text(str(infrastructure.pid))
    try:
        subprocess.run([script, "start"], env=env, check=True, timeout=180)
        for offset, service in enumerate(SERVICES):
            base = f"http://127.0.0.1:{18100 + offset}"
            ready = httpx.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 200, (service, ready.text)
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}  # every one reads the gateway's topic
            assert ("relay" in ready.json()["runners"]) == (service in WITH_EVENTS), (service, ready.text)
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "service": service}
            assert httpx.get(f"{base}/openapi.json").json()["info"]["title"]
            metrics = httpx.get(f"{base}/metrics").text
            assert (f'nrmm_relay_backlog_commits{{topic="{namespace}.{service}.events"}}' in metrics) \
                == (service in WITH_EVENTS), service
        # one base URL: the gateway forwards to each service
        for service in SERVICES[1:]:
            answer = httpx.get(f"http://127.0.0.1:18100/api/{service}/no-such-route", timeout=10)
            assert answer.status_code in (401, 404) and answer.json()["code"], (service, answer.text)
        # the first administrator, from the environment run.sh was started with, signs in at the gateway
        token = httpx.post("http://127.0.0.1:18100/api/auth/token", timeout=10,
                           data={"username": "e2e-admin", "password": "E2e-Admin-Passw0rd"})
        assert token.status_code == 200, token.text
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        outbox = httpx.get("http://127.0.0.1:18100/api/notifications/outbox", headers=admin, timeout=10)
        assert outbox.status_code == 200 and outbox.json() == []
    finally:
        subprocess.run([script, "stop"], env=env, check=False, timeout=60)
    status = subprocess.run([script, "status"], env=env, capture_output=True, text=True).stdout
    assert status.count("stopped") == len(SERVICES)
    assert infrastructure.poll() is None, "run.sh stop killed a process that is not a service"
    infrastructure.kill()
