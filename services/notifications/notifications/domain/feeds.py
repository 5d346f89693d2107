"""Department event feeds, the pure part: which events a subscription receives (the scoping rule), what a subscriber
may see of them (masking), the CloudEvent a subscriber gets, and cursors.

Scoping rule (README, "Department event feeds"): a department subscription receives the sites and inspection events
of its department's sites, and the registry events of a machine while that machine is on one of its sites; an
ecology-bureau subscription receives everything of its district (no district: the whole city).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from inspection import contracts as inspection
from nrmm_kernel.envelope import DomainEvent, EventEnvelope
from nrmm_kernel.identity import mask_id_number, mask_mobile
from nrmm_kernel.reference import Department
from registry import contracts as registry
from sites import contracts as sites

# the services whose events feed departments, each with its event contract (its topic: <namespace>.<service>.events)
SOURCES = {"registry": registry.events, "sites": sites.events, "inspection": inspection.events}


def event_types() -> dict[str, tuple[str, type[DomainEvent]]]:
    """Every event type a subscription may name: CloudEvents type -> (service, model)."""
    return {name: (service, model) for service, contract in SOURCES.items() for name, model in contract.types.items()}


@dataclass(frozen=True)
class SitePlace:
    """A site as the feeds know it: where it is and which department governs it."""

    site_code: str
    district: str | None
    department: str | None


@dataclass(frozen=True)
class Route:
    """Where an event belongs: the districts it is of (for the ecology bureau) and the sites it concerns (for the
    departments governing them)."""

    districts: frozenset[str] = frozenset()
    sites: tuple[SitePlace, ...] = ()


@dataclass(frozen=True)
class Scope:
    """What a subscription asked for."""

    department: str
    district: str | None  # None: city level
    types: frozenset[str] = field(default_factory=frozenset)


def receives(scope: Scope, event_type: str, route: Route) -> bool:
    """The scoping rule."""
    if event_type not in scope.types:
        return False
    if scope.department == Department.ECOLOGY:
        return scope.district is None or scope.district in route.districts
    return any(site.department == scope.department and (scope.district is None or site.district == scope.district)
               for site in route.sites)


# personal data: what a subscriber who may not see it gets masked (README: every staff role but the auditor)
MASKERS = {"mobile": mask_mobile, "id_number": mask_id_number, "new_owner_mobile": mask_mobile}
UNMASKED_ROLES = frozenset({"auditor"})


def masked(value: Any) -> Any:
    """``value`` with every ID number and mobile number in it masked, wherever it sits."""
    if isinstance(value, dict):
        return {k: MASKERS[k](v) if k in MASKERS and isinstance(v, str) else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def cloud_event(envelope: EventEnvelope, data: dict[str, Any], sequence: int) -> dict[str, Any]:
    """The event as a subscriber gets it: CloudEvents 1.0, structured mode. Actors' account ids stay inside."""
    return {
        "specversion": "1.0", "id": envelope.id, "source": envelope.source, "type": envelope.type,
        "time": envelope.time.isoformat().replace("+00:00", "Z"), "subject": envelope.subject,
        "datacontenttype": "application/json", "streamid": envelope.streamid,
        "streamversion": envelope.streamversion, "correlationid": envelope.correlationid,
        "schemaversion": envelope.schemaversion, "sequence": str(sequence), "data": data,
    }


# cursors: "<subscription id>.<sequence>", the position of the last event received (SSE: the event's id)
CURSOR = re.compile(r"^([0-9A-HJKMNP-TV-Z]{26})\.(0|[1-9][0-9]{0,14})$")


class CursorError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def cursor(subscription_id: str, sequence: int) -> str:
    return f"{subscription_id}.{sequence}"


def parse_cursor(text: str | None, subscription_id: str) -> int:
    """The sequence a cursor stands at (none: 0, the feed's start). Another subscription's cursor is refused."""
    if text is None or text == "":
        return 0
    match = CURSOR.match(text.strip())
    if match is None:
        raise CursorError("invalid_cursor", "游标格式无效 (malformed cursor)")
    if match.group(1) != subscription_id:
        raise CursorError("cursor_of_another_subscription", "游标属于其他订阅 (the cursor is another subscription's)")
    return int(match.group(2))
