"""Idempotency keys: a client names a request, and sends the same name when it sends the request again after
its answer was lost (a gate or a phone on a poor connection). The service derives the ids of what the request
records from that name, so a retry finds what its first sending recorded instead of recording it twice."""

from __future__ import annotations

import uuid

from fastapi import Header

KEY_PATTERN = r"^[A-Za-z0-9_\-]{8,64}$"

# a FastAPI parameter: ``idempotency_key: str | None = IDEMPOTENCY_KEY``
IDEMPOTENCY_KEY = Header(None, alias="Idempotency-Key", pattern=KEY_PATTERN, max_length=64,
                         description="the client's id for this request (e.g. a UUID), the same when it is sent again")


def derived_id(*parts: str) -> uuid.UUID:
    """The same id for the same parts, every time (name them all: who sent it, where, the key, what was sent)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "nrmm:" + ":".join(parts))
