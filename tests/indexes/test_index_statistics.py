"""The hot paths are index-backed on FerretDB (issue #15, point 1), shown by PostgreSQL's own statistics.

Real services on the native stack (FerretDB 1.24 on PostgreSQL, deploy/native.sh, whose GIN siblings and
``plan_cache_mode`` are under test). The tables the hot paths read are grown to 100k documents each, straight in
PostgreSQL (copies of a real document with every indexed field made unique, then ANALYZE), so a sequential scan
would be what the planner picks if no index served FerretDB's ``_jsonb->'f' @> value`` filters. Each operation then
runs through the services over HTTP and the GIN siblings' ``idx_scan`` in ``pg_stat_user_indexes`` must grow for
the fields it looks up, and no table of 100k rows may be scanned sequentially meanwhile.

Statistics reach ``pg_stat_*`` when a backend flushes them (within a second or so of going idle): the test waits on
the counters (the condition), never on the clock. Elsewhere (MongoDB 7 in containers, no PostgreSQL beside the
database) it is skipped; tests/indexes/test_query_shapes.py holds MongoDB 7 to declared indexes.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nrmm_kernel.codes import qr_payload
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import mongo_client
from tests.indexes import postgres
from tests.platform import eventually, start_platform
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, SERVICES, Sites, reported
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

ROWS = 100_000
FILLED = {  # (service, collection): what the hot paths read there
    ("sites", "event_store"): "site and presence streams, positions",
    ("sites", "registry_codes"): "the gate's copy of the registry's codes",
    ("sites", "zone_index"): "active zones of a district",
    ("sites", "site_occupancy"): "machines inside a site",
    ("sites", "stays"): "the stays read model (projector version guard)",
    ("registry", "code_index"): "verify: code -> machine (the registry's write-side index)",
    ("registry", "event_store"): "verify: the machine's stream; the registry's commands",
    ("gateway", "account_logins"): "login: the account by the keyed hash of its username",
    ("gateway", "account_views"): "login and refresh: the account",
    ("gateway", "credentials"): "login: the password hash",
    ("gateway", "refresh_tokens"): "token refresh",
}


@pytest.fixture(scope="module")
def platform(infra):
    if not postgres.reachable():
        pytest.skip(f"no FerretDB PostgreSQL on 127.0.0.1:{postgres.PG_PORT} (the native stack): MongoDB 7 is held "
                    "to its declared indexes by tests/indexes/test_query_shapes.py")
    platform = start_platform(infra, SERVICES, {"NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                                                "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                                "NRMM_SMS_RESEND_SECONDS": "0"})
    yield Sites(platform)
    platform.stop()
    asyncio.run(drop_databases(infra.mongodb_url, platform.namespace))  # a few hundred MB: not left behind


async def drop_databases(mongodb_url: str, namespace: str) -> None:
    client = mongo_client(mongodb_url)
    try:
        for name in await client.list_database_names():
            if name.startswith(f"{namespace}_"):
                await client.drop_database(name)
    finally:
        await client.close()


def database(p: Sites, service: str) -> str:
    return f"{p.platform.namespace}_{service}"


async def head_and_stream(mongodb_url: str, name: str, stream_id: str) -> tuple[int, int]:
    client = mongo_client(mongodb_url)
    try:
        store = EventStore(client[name])
        return await store.head_position(), len(await store.read_stream(stream_id))
    finally:
        await client.close()


def wait_for_scans(tables: list[str], before: postgres.Usage, expected: set[tuple[str, str]], what: str):
    """Until every expected (table, field) GIN sibling has served a scan since ``before``; the usage then."""
    last: list = [None]

    def served():
        last[0] = now = postgres.usage(tables)
        return now if expected <= set(before.gin_delta(now)) else None

    return wait_until(served, timeout=60, what=f"{what} served by the GIN siblings",
                      describe=lambda _: f"missing {sorted(expected - set(before.gin_delta(last[0])))}; "
                                         f"served {before.gin_delta(last[0])}")


def test_hot_paths_are_served_by_indexes_at_100k_documents(platform, infra):
    p = platform
    assert postgres.setting("plan_cache_mode") == "force_custom_plan"  # generic plans fell back to scans

    # a city of one: a site with its admin, an issued code at its gate, a restricted zone in its district, a stay
    code = p.issue_code(district="09", stage="4")
    site, admin = p.register_site(district="09", street="南坪街道")
    ecology = p.token(Role.REVIEWER, "eco-09", district="09")
    zone = p.sites.post("/api/sites/zones", headers=ecology,
                        json={"name": "南岸区禁用区", "district": "09", "kind": "streets", "streets": ["南坪街道"]})
    assert zone.status_code == 201, zone.text
    p.known_at_gate(site, admin, code)
    first = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin, json={"code": code, **reported()})
    assert first.status_code == 201, first.text
    eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 1)
    tokens = p.gateway.post("/api/auth/token", data={"username": site, "password": "Site-Passw0rd"})
    assert tokens.status_code == 200, tokens.text

    # ... grown to 100k documents in each table the hot paths read
    tables = {key: postgres.table_of(database(p, key[0]), key[1]) for key in FILLED}
    for (_, collection), table in tables.items():
        # commits already published: a copy left pending would go to the broker
        postgres.fill(table, ROWS, "NOT _jsonb ? 'outbox'" if collection == "event_store" else "TRUE")
    names = list(tables.values())
    # the siblings merge each insert at once: a search that also read GIN's list of unmerged entries took 10x as
    # long at 1 M commits (deploy/postgres/gin-siblings.sql)
    assert postgres.siblings_with_pending_list(names) == []
    began = postgres.usage(names)

    # gate exit: the machine's presence stream, the site's occupancy
    before = postgres.usage(names)
    left = p.sites.post(f"/api/sites/sites/{site}/exits", headers=admin, json={"code": code})
    assert left.status_code == 201, left.text
    wait_for_scans(names, before, {(tables["sites", "event_store"], "stream_id")}, "a gate exit")

    # gate entry: site stream, codes copy, zones, presence, occupancy, append (stream head); then the stays
    # projector applies it (its version guard reads the document by _id)
    before = postgres.usage(names)
    entered = p.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                           json={"qr": qr_payload(code), **reported()})
    assert entered.status_code == 201, entered.text
    eventually(p.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: len(rows) == 1)
    sites_store = tables["sites", "event_store"]
    wait_for_scans(names, before, {(sites_store, "stream_id"), (tables["sites", "registry_codes"], "codes"),
                                   (tables["sites", "zone_index"], "district"),
                                   (tables["sites", "site_occupancy"], "_id"),
                                   (tables["sites", "stays"], "_id")}, "a gate entry and its projection")

    # verify, from the registry's write side: the code index, then the machine's stream
    before = postgres.usage(names)
    verified = p.registry.get("/api/registry/verify", params={"code": code}, headers=admin)
    assert verified.status_code == 200 and verified.json()["valid"], verified.text
    wait_for_scans(names, before, {(tables["registry", "code_index"], "_id"),
                                   (tables["registry", "event_store"], "stream_id")}, "verify")

    # commands on the registry's write side: an application, then its approval (read stream, append)
    before = postgres.usage(names)
    p.issue_code(owner=f"owner-{uuid.uuid4().hex[:6]}", district="09")
    registry_store = tables["registry", "event_store"]
    wait_for_scans(names, before, {(registry_store, "stream_id")}, "registry commands")

    # the event store's position allocation in a fresh process (head from the saved hint, probed by _id) and
    # read-stream, through the kernel's own code
    before = postgres.usage(names)
    head, commits = asyncio.run(head_and_stream(infra.mongodb_url, database(p, "sites"), f"site-{site}"))
    assert head >= 4 and commits >= 1
    wait_for_scans(names, before, {(sites_store, "_id"), (sites_store, "stream_id")}, "head position, read stream")

    # login and token refresh
    before = postgres.usage(names)
    again = p.gateway.post("/api/auth/token", data={"username": site, "password": "Site-Passw0rd"})
    assert again.status_code == 200, again.text
    refreshed = p.gateway.post("/api/auth/refresh", json={"refresh_token": again.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    wait_for_scans(names, before, {(tables["gateway", "account_logins"], "_id"),
                                   (tables["gateway", "account_views"], "_id"),
                                   (tables["gateway", "credentials"], "_id"),
                                   (tables["gateway", "refresh_tokens"], "_id")}, "login and token refresh")

    # and nothing read a table of 100k rows from end to end meanwhile
    assert began.seq_delta(postgres.usage(names)) == {}
