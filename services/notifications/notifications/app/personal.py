"""Personal data in notifications (#14). An owner's mobile arrives from the registry sealed under the registry's
key: notifications asks the registry to open it only when an SMS is to be sent, keeps the delivery's number sealed
under its own key for that owner (the data subject), and records each SMS sent (a disclosure: the person's data
left the platform) so an erasure can list it. On ``PersonErased`` its shredder forgets its own key
(nrmm_kernel/forgetting.py): the number in every delivery then reads as erased, and an unsent SMS is never sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.claims import claim
from nrmm_kernel.internal import ServiceCaller
from nrmm_kernel.personal import ERASED

SERVICE_ACCOUNT = "svc-notifications"
DISCLOSURES = "personal_disclosures"


class RegistryUnavailable(Exception):
    """The registry did not open a sealed number: the SMS waits (the fan-out retries)."""


class RegistryOpener:
    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT)

    async def open(self, sealed: str) -> str | None:
        """The plain value; None once its person was erased."""
        try:
            response = await self.caller.post("/api/registry/internal/personal/open", {"values": [sealed]})
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(type(exc).__name__) from None
        if response.status_code != 200:
            raise RegistryUnavailable(f"status {response.status_code}")
        value = response.json()["values"][0]
        return None if value in (None, ERASED) else str(value)


class Disclosures:
    """What left the platform with a person's data: one document per SMS sent to them."""

    def __init__(self, db: AsyncDatabase[Any]):
        self.coll = db[DISCLOSURES]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index("subject_id")

    async def record(self, delivery_id: str, subject_id: str, channel: str, template: str, at: datetime) -> None:
        await claim(self.coll, {"_id": delivery_id, "subject_id": subject_id, "channel": channel,
                                "template": template, "at": at})

    async def of(self, subject_id: str) -> list[dict[str, Any]]:
        docs = await self.coll.find({"subject_id": subject_id}).to_list(None)
        return sorted(({"what": f"{d['channel']}:{d['template']}", "delivery_id": d["_id"],
                        "at": d["at"].isoformat()} for d in docs), key=lambda d: d["at"])
