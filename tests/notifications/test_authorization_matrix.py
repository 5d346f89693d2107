"""Authorization matrix of the notifications service's routes, every kind of caller; no answer is ever a 5xx."""

from __future__ import annotations

import pytest

from notifications.api import routers
from tests.authz import BASE_CALLERS, Endpoint, token_headers, uncovered, wrong_cells

SIGNED_IN = set(BASE_CALLERS) - {"anonymous"}
PEOPLE = SIGNED_IN - {"service"}
CITY_ECOLOGY_ADMIN = {"admin_city"}
ADMINS = {"admin_12", "admin_01", "admin_city"}
# staff who read a department's feed (their department's and jurisdiction's, decided once the feed is found)
FEED_READERS = ADMINS | {"reviewer_12", "reviewer_01", "reviewer_city", "auditor_city", "auditor_01", "inspector_12",
                         "inspector_01", "ecology_viewer_12", "housing_viewer_12"}
EVERYONE = set(BASE_CALLERS) | {"admin_city"}
SUB = "/api/notifications/subscriptions/01JNOSUCHSUBSCRIPTION00000"
FEED = "/api/notifications/feeds/01JNOSUCHSUBSCRIPTION00000"
CALLERS = {**BASE_CALLERS, "admin_city": (BASE_CALLERS["admin_12"][0], "mx-adm-city", None,
                                          BASE_CALLERS["admin_12"][3])}
PEOPLE |= {"admin_city"}


def endpoints() -> list[Endpoint]:
    table = [
        ("send message", "POST", "/api/notifications/messages", {"json": {}}, {"service"}),
        ("read outbox", "GET", "/api/notifications/outbox?limit=1", {}, CITY_ECOLOGY_ADMIN),
        ("inbox", "GET", "/api/notifications/inbox?limit=1", {}, PEOPLE),
        ("unread count", "GET", "/api/notifications/inbox/unread-count", {}, PEOPLE),
        ("mark read", "POST", "/api/notifications/inbox/no-such-notice/read", {}, PEOPLE),
        ("mark all read", "POST", "/api/notifications/inbox/read-all", {}, PEOPLE),
        ("deliveries", "GET", "/api/notifications/deliveries?limit=1", {}, CITY_ECOLOGY_ADMIN),
        ("one delivery", "GET", "/api/notifications/deliveries/no-such-delivery", {}, CITY_ECOLOGY_ADMIN),
        ("redelivery", "POST", "/api/notifications/deliveries/no-such-delivery/redelivery", {}, CITY_ECOLOGY_ADMIN),
        ("subscribe", "POST", "/api/notifications/subscriptions", {"json": {}}, ADMINS),
        ("subscriptions", "GET", "/api/notifications/subscriptions", {}, ADMINS),
        ("one subscription", "GET", SUB, {}, ADMINS),
        ("unsubscribe", "DELETE", SUB, {}, ADMINS),
        ("rotate secret", "POST", f"{SUB}/secrets", {}, ADMINS),
        ("retire secret", "DELETE", f"{SUB}/secrets/previous", {}, ADMINS),
        ("dead letters", "GET", f"{SUB}/dead-letters", {}, ADMINS),
        ("feed redelivery", "POST", f"{SUB}/dead-letters/1/redelivery", {}, ADMINS),
        ("pull feed", "GET", f"{FEED}/events", {}, FEED_READERS),
        ("stream feed", "GET", f"{FEED}/stream", {}, FEED_READERS),
        ("asyncapi", "GET", "/api/notifications/asyncapi.json", {}, EVERYONE),
        ("disclosures (registry)", "GET", "/api/notifications/internal/personal/disclosures?subject_id=x", {},
         {"service"}),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


@pytest.fixture(scope="module")
def callers(platform) -> dict[str, dict]:
    return {name: token_headers(platform.verifier, spec) for name, spec in CALLERS.items()}


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints()])
def test_every_caller_gets_exactly_what_the_matrix_allows_and_never_a_5xx(platform, callers, endpoint):
    chosen = next(e for e in endpoints() if e.name == endpoint)
    http = platform.client("notifications")
    wrong = wrong_cells(http, chosen, callers)  # a 5xx in any cell is wrong too
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_route():
    assert not uncovered(routers(), endpoints())
