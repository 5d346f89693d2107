"""Which fields of the registry's events are personal, and whose (#14): the registrant's ID number and mobile, and
their name where the registrant is a person, sealed under the owner account's key (nrmm_kernel/sealing.py)."""

from __future__ import annotations

from typing import Any

from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.sealing import SealRule

from ..domain.events import ApplicationAmended, CodeRequested, OwnerChanged, registry


def registrant_paths(data: dict[str, Any]) -> list[str]:
    registrant = data.get("registrant") or {}
    paths = ["registrant.id_number", "registrant.mobile"]
    if registrant.get("kind") == "person":  # a company's name identifies no person
        paths.append("registrant.name")
    return paths


def _owner(envelope: EventEnvelope) -> str | None:
    return envelope.data.get("owner_account_id")


def _amending_owner(envelope: EventEnvelope) -> str | None:
    return envelope.actorid  # only the record's owner amends their application


def _new_owner(envelope: EventEnvelope) -> str | None:
    return envelope.data.get("new_owner_account_id")


SEAL_RULES = {
    registry.type_of(CodeRequested): SealRule(_owner, registrant_paths),
    registry.type_of(ApplicationAmended): SealRule(_amending_owner, registrant_paths),
    registry.type_of(OwnerChanged): SealRule(_new_owner, registrant_paths),
}
