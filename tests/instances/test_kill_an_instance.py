"""Two instances of registry and sites behind one gateway, under a bounded load of commands; the instance of each
that holds the outbox relay's lease is killed (kill -9) mid-load. Then: every command that was answered 2xx is in
the event store exactly once, every stored event is on its topic in stream order (read_committed), and every read
model equals a replay. No sleeps: the test waits on conditions (tests/waiting.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from collections.abc import Callable

import httpx
import pytest

from nrmm_kernel.lease import LEASES
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import mongo_client
from registry.projections import projections as registry_own
from sites.projections import projections as sites_own
from sites.projections import registry_projections
from tests.instances.checks import commits_by_correlation, read_model_differences, topic_order_faults
from tests.platform import Platform, free_port, start_platform
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, Sites, other_province_code, period
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
APPLICATIONS, ENTRIES = 18, 90  # the bounded load: a few minutes at most on two shared cores
FAST = {"NRMM_LEASE_SECONDS": "5", "NRMM_RUNNER_STUCK_SECONDS": "120"}  # a dead relay holder replaced quickly


class Load:
    """Requests from a thread, one after another, each with its own request id (the correlation id of the
    events it makes); remembers the ids answered 2xx."""

    def __init__(self, name: str, requests: list[Callable[[httpx.Client, dict], httpx.Response]]):
        self.name, self.requests = name, requests
        self.accepted: list[str] = []
        self.failed: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            for send in self.requests:
                request_id = f"{self.name}-{uuid.uuid4().hex[:12]}"
                try:
                    answer = send(client, {"X-Request-Id": request_id})
                except httpx.HTTPError as exc:
                    self.failed.append(type(exc).__name__)
                    continue
                (self.accepted if answer.status_code < 300 else self.failed).append(
                    request_id if answer.status_code < 300 else f"{answer.status_code} {answer.text[:120]}")


@pytest.fixture(scope="module")
def instances(infra):
    """(the gateway and notifications, registry and sites instance 1, instance 2): the gateway knows both instances
    of each, and they know the gateway (site admins' accounts), so the ports are chosen first."""
    ports = {name: free_port() for name in ("gateway", "r1", "r2", "s1", "s2")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {**FAST, "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "NRMM_REGISTRY_URL": f"{url['r1']},{url['r2']}", "NRMM_SITES_URL": f"{url['s1']},{url['s2']}",
           "NRMM_GATEWAY_URL": url["gateway"]}
    started: list[Platform] = []
    try:
        started.append(start_platform(infra, ["notifications", "gateway"], env, ports={"gateway": ports["gateway"]}))
        for k in ("1", "2"):
            started.append(start_platform(infra, ["registry", "sites"], env, joining=started[0],
                                          ports={"registry": ports[f"r{k}"], "sites": ports[f"s{k}"]}))
        yield started[0], started[1], started[2]
    finally:
        for platform in reversed(started):
            platform.stop()


def _relay_holder_pid(infra, namespace: str, service: str) -> int | None:
    async def look() -> int | None:
        client = mongo_client(infra.mongodb_url)
        try:
            doc = await client[f"{namespace}_{service}"][LEASES].find_one({"name": "relay"}, sort=[("term", -1)])
            return int(doc["holder"].split(":")[1]) if doc else None
        finally:
            await client.close()

    return asyncio.run(look())


def _instance_by_pid(pid: int, platforms: list[Platform], service: str) -> Platform:
    return next(p for p in platforms if p.processes[service].pid == pid)


def test_killing_the_relay_holders_of_registry_and_sites_mid_load_loses_and_doubles_nothing(infra, instances):
    front, first, second = instances
    front.urls.update(registry=first.urls["registry"], sites=first.urls["sites"])
    sites = Sites(front)
    api = front.urls["gateway"]
    # the registry's commands: applications, each with its own documents uploaded beforehand (rule C4)
    owners = [sites.token(Role.OWNER, f"owner-{i}") for i in range(APPLICATIONS)]
    bodies = [sites.application(h) for h in owners]

    def apply(i: int) -> Callable[[httpx.Client, dict], httpx.Response]:
        return lambda c, h: c.post(f"{api}/api/registry/applications", json=bodies[i], headers={**owners[i], **h})

    # the sites' commands: gate entries of other provinces' machines (rule C3: no registry needed) at a site
    site, _ = sites.register_site(district="04")
    gate = sites.token(Role.SITE_ADMIN, f"gate-{site}", site_id=site)

    def enter(n: int) -> Callable[[httpx.Client, dict], httpx.Response]:
        body = {"code": other_province_code(n, province="C"), "working_period": period(),
                "machine_type": "excavator", "emission_stage": "4"}
        return lambda c, h: c.post(f"{api}/api/sites/sites/{site}/entries", json=body, headers={**gate, **h})

    registry_load = Load("app", [apply(i) for i in range(APPLICATIONS)])
    sites_load = Load("entry", [enter(n) for n in range(ENTRIES)])
    registry_load.thread.start()
    sites_load.thread.start()

    # mid-load: the instance of each service that publishes (holds the relay lease) is killed, once a third of
    # that service's load is answered
    killed = {}
    at_kill = {}
    for service, load, total in (("registry", registry_load, APPLICATIONS), ("sites", sites_load, ENTRIES)):
        wait_until(lambda ld=load, t=total: len(ld.accepted) >= t // 3, timeout=300,
                   what=f"a third of the {service} load accepted", describe=lambda _, ld=load: str(ld.failed[:3]))
        pid = wait_until(lambda s=service: _relay_holder_pid(infra, first.namespace, s), timeout=60,
                         what=f"a {service} relay holder")
        victim = _instance_by_pid(pid, [first, second], service)
        at_kill[service] = len(load.accepted) + len(load.failed)
        os.kill(pid, signal.SIGKILL)
        victim.processes[service].wait(timeout=30)
        killed[service] = (victim, pid)
        assert at_kill[service] < total, f"{service}'s load was over before the kill"
    registry_load.thread.join(timeout=600)
    sites_load.thread.join(timeout=600)
    assert not registry_load.thread.is_alive() and not sites_load.thread.is_alive()

    # the survivors took the relays over
    for service, (victim, _pid) in killed.items():
        survivor = second if victim is first else first
        wait_until(lambda s=service, sv=survivor: _relay_holder_pid(infra, first.namespace, s) ==
                   sv.processes[s].pid, timeout=60, what=f"the surviving {service} holding the relay")

    print(f"\n[instances] answered before the kill {at_kill}; registry accepted "
          f"{len(registry_load.accepted)}/{APPLICATIONS}, failed "
          f"{registry_load.failed[:5]}; sites accepted {len(sites_load.accepted)}/{ENTRIES}, failed "
          f"{sites_load.failed[:5]}")
    assert len(registry_load.accepted) > APPLICATIONS // 3 and len(sites_load.accepted) > ENTRIES // 3

    for service, load in (("registry", registry_load), ("sites", sites_load)):
        database = f"{first.namespace}_{service}"
        counts = asyncio.run(commits_by_correlation(infra.mongodb_url, database))
        wrong = {r: counts[r] for r in load.accepted if counts[r] != 1}
        assert not wrong, f"{service}: commands answered 2xx not exactly once in the store: {wrong}"
        faults = asyncio.run(topic_order_faults(infra.kafka_bootstrap, infra.mongodb_url, database,
                                                first.topic(service)))
        assert not faults, f"{service}'s topic: {faults[:10]}"

    models = {"registry": (registry_own(), {}),  # its projections of inspection's events: no inspection here
              "sites": (sites_own(), {first.topic("registry"): registry_projections()})}
    for service, (own, foreign) in models.items():
        _equal_to_a_replay(infra, f"{first.namespace}_{service}", own, foreign)


def _equal_to_a_replay(infra, database: str, own: list, foreign: dict) -> None:
    last: list = [None]

    def equal() -> bool:
        last[0] = asyncio.run(read_model_differences(infra.mongodb_url, infra.kafka_bootstrap, database, own, foreign))
        return not last[0]

    wait_until(equal, timeout=120, what=f"{database}'s read models equal to a replay", describe=lambda _: last[0])
