"""The gate when the registry cannot be asked: a refusal that rests on the registry's facts says so, and is
recorded with that reason, not as an unknown code (real processes; the registry's address leads nowhere)."""

from __future__ import annotations

import pytest

from tests.platform import free_port, start_platform
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, Sites, reported


@pytest.fixture(scope="module")
def platform_without_registry(infra):
    nowhere = f"http://127.0.0.1:{free_port()}"
    platform = start_platform(infra, ["notifications", "sites", "gateway"],
                              {"NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                               "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD, "NRMM_REGISTRY_URL": nowhere})
    platform.urls["registry"] = nowhere  # no registry process answers there
    yield Sites(platform)
    platform.stop()


def test_a_code_the_gate_cannot_check_is_refused_as_unverifiable_and_recorded_so(platform_without_registry):
    p = platform_without_registry
    site, admin = p.register_site(district="04")
    refused = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                           json={"code": "4-N04ABCDE", **reported()})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "registry_unreachable" and "核实" in refused.json()["message"]
    recorded = p.sites.get(f"/api/sites/sites/{site}/refusals",
                           headers={**admin, "X-Min-Position": refused.headers["X-Position"]})
    assert [r["reason"] for r in recorded.json()] == ["registry_unreachable"]
    # another province's code needs no registry (rule C3): admitted on its shape
    admitted = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                            json={"code": "4-A01B3C4D", **reported()})
    assert admitted.status_code == 201, admitted.text
