"""Registry steps the notices follow, over HTTP, and reads of the notifications service."""

from __future__ import annotations

import uuid

import httpx

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.registry.conftest import RegistryClient
from tests.registry.fixtures import machine, registrant
from tests.waiting import wait_until


def registry_client(platform) -> RegistryClient:
    return RegistryClient(platform.urls["registry"], platform.namespace, platform.secret)


def issue_code(svc: RegistryClient, owner: dict, mobile: str) -> tuple[str, str]:
    """Apply (the registrant reachable at ``mobile``) and approve; (machine id, code)."""
    body = {"registrant": registrant(mobile=mobile),
            "machine": machine(factory_serial=f"SY-{uuid.uuid4().hex[:10].upper()}", today=today_in_chongqing()),
            "uploads": svc.upload_all(owner)}
    applied = svc.http.post("/api/registry/applications", json=body, headers=owner)
    assert applied.status_code == 201, applied.text
    machine_id = applied.json()["machine_id"]
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(), json={})
    assert approved.status_code == 200, approved.text
    return machine_id, approved.json()["code"]


def admin(platform) -> dict:
    return platform.token(Role.ADMIN, "notify-admin")


def poll(read, until, seconds: float = 30.0):
    """Read until ``until(answer)`` holds, at most ``seconds``."""
    last: list = [None]

    def reached():
        last[0] = answer = read()
        return (answer,) if until(answer) else None  # a tuple: truthy even when the answer itself is not

    return wait_until(reached, timeout=seconds, what="the expected state", describe=lambda _: repr(last[0]))[0]


def inbox(http: httpx.Client, headers: dict, **params) -> dict:
    answer = http.get("/api/notifications/inbox", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()
