"""Every event is bounded before it is committed: the oversized requests that once froze a relay (a zone with
500 streets of 20 KB, a rejection with reasons of a million characters) are a 422 naming the field, and nothing is
written. Real processes."""

from __future__ import annotations

from nrmm_kernel.reference import Role


def test_a_zone_with_huge_street_names_is_refused_naming_the_field(platform):
    p = platform
    ecology = p.token(Role.REVIEWER, "eco-big", district="09")
    before = p.sites.get("/api/sites/zones", params={"district": "09"}, headers=ecology).json()
    huge = p.sites.post("/api/sites/zones", headers=ecology,
                        json={"name": "巨大禁用区", "district": "09", "kind": "streets",
                              "streets": [f"{n}-" + "x" * 20_000 for n in range(500)]})  # 10 MB
    assert huge.status_code == 422 and huge.json()["field"].startswith("streets"), huge.text[:300]
    after = p.sites.get("/api/sites/zones", params={"district": "09"}, headers=ecology).json()
    assert after == before


def test_a_rejection_with_a_million_character_reason_is_refused_naming_the_field(platform):
    p = platform
    owner = p.token(Role.OWNER, "owner-big")
    applied = p.registry.post("/api/registry/applications", headers=owner, json=p.application(owner, district="09"))
    assert applied.status_code == 201, applied.text
    machine_id = applied.json()["machine_id"]
    reviewer = p.token(Role.REVIEWER, "rev-big", district="09")
    huge = p.registry.post(f"/api/registry/applications/{machine_id}/rejection", headers=reviewer,
                           json={"reasons": ["照片不清" * 250_000, "x" * 1_000_000]})
    assert huge.status_code == 422 and huge.json()["field"].startswith("reasons"), huge.text[:300]
    record = p.registry.get(f"/api/registry/applications/{machine_id}",
                            headers={**owner, "X-Min-Position": applied.headers["X-Position"]}).json()
    assert record["status"] == "submitted"  # nothing written: still waiting for review
