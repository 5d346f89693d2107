"""Every service forgets an erased person (#14): the registry records ``PersonErased`` (stream ``person-<account>``,
field ``subject_id``); each service that holds values sealed under its own keys reads it from the registry's topic
into ``erased_subjects`` (an ordinary idempotent projection, so a rebuild makes the same), and its shredder deletes
the subject's key (``SubjectKeys.forget``). The shredder is a supervised runner: a key whose deletion failed is
deleted on its next round."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from .aio import sleep_or_stop
from .envelope import DomainEvent, EventEnvelope, EventRegistry
from .logging import get_logger
from .personal import SubjectKeys
from .projection import Projection, on
from .supervisor import Health

ERASED_SUBJECTS = "erased_subjects"
log = get_logger("personal")


def erased_subjects_projection(contract: EventRegistry, event_type: type[DomainEvent]) -> Projection:
    """The read model of erased subjects, fed by the registry's ``PersonErased``: one document per subject."""

    class ErasedSubjects(Projection):
        name = ERASED_SUBJECTS

        def doc_id(self, envelope: EventEnvelope) -> str:
            return str(envelope.data["subject_id"])

        @on(event_type)
        def erased(self, doc: dict[str, Any] | None, event: Any, envelope: EventEnvelope) -> dict[str, Any]:
            return {"subject_id": event.subject_id, "erased_at": envelope.time}

    ErasedSubjects.contract = contract
    return ErasedSubjects()


class Shredder:
    """Deletes the keys of the subjects ``erased_subjects`` names."""

    def __init__(self, db: AsyncDatabase[Any], keys: SubjectKeys, poll_seconds: float = 1.0):
        self.erased = db[ERASED_SUBJECTS]
        self.keys = keys
        self.poll_seconds = poll_seconds
        self.health = Health("shredder", needs_broker=False)
        self._done: set[str] = set()  # forgotten by this process (erasures are rare: the set stays small)

    async def once(self) -> int:
        """Forget every erased subject this process has not forgotten yet; returns how many. The read model is
        left as its events made it, so a rebuilt one equals it."""
        done = 0
        for doc in await self.erased.find({}, projection={"_id": 1}).to_list(None):
            if doc["_id"] in self._done:
                continue
            await self.keys.forget(doc["_id"])
            self._done.add(doc["_id"])
            log.info("personal.subject_forgotten", subject_id=doc["_id"])
            done += 1
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.once()
            self.health.ok()
            await sleep_or_stop(stop, self.poll_seconds)
