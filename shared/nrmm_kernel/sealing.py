"""The sealing boundary (#14): personal fields of an event are sealed when it is recorded, opened when it is folded.

The domain validates and decides on plain values. ``SealingStore`` wraps a service's event store for its command
handlers: ``append`` seals the fields a ``SealRule`` marks (under the key of the event's data subject) before the
commit is hashed and written, so the store, the outbox relay, Kafka, every projection and every rebuild hold
ciphertext only; ``read_stream`` opens them again for the aggregate's fold (a forgotten subject's values then read
as ``personal.ERASED``). Queries open what an authorised reader may see (``open_values``), and mask it as before.

Every value is sealed under one subject; ``personal_subjects`` (a write-side index, written before the commit)
records which streams hold a subject's values, so an erasure can check them from the write side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidatorFunctionWrapHandler, WrapValidator
from pymongo.asynchronous.database import AsyncDatabase

from .claims import claim
from .envelope import EventEnvelope
from .errors import AppError
from .eventstore import Commit
from .personal import ERASED, SubjectForgotten, SubjectKeys, is_sealed
from .store_api import StreamStore

SUBJECT_STREAMS = "personal_subjects"


def _pass_sealed(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if is_sealed(value) or value == ERASED:
        return value
    return handler(value)


# On a personal field of an event's model (``Annotated[MobileNumber, SEALABLE]``): a sealed or erased value is taken as
# it is (it was checked before it was sealed); a plain one is validated as before. Requests refuse sealed values
# (registry's ``PlainRegistrant``), so nobody slips a value past the checks.
SEALABLE = WrapValidator(_pass_sealed)


class PersonErasedAlready(AppError):
    """Nothing new is recorded of a person whose data was erased."""

    status = 409
    code = "person_erased"


@dataclass(frozen=True)
class SealRule:
    """Which fields of one event type are personal, and whose: ``subject(envelope)`` names the data subject (an owner
    account id), ``paths(data)`` the dotted paths of the fields to seal (absent or empty ones are left)."""

    subject: Callable[[EventEnvelope], str | None]
    paths: Callable[[dict[str, Any]], Sequence[str]]


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


async def seal_envelope(keys: SubjectKeys, envelope: EventEnvelope, rule: SealRule) -> tuple[EventEnvelope, str | None]:
    """The envelope with its personal fields sealed, and their subject (None: nothing to seal)."""
    subject = rule.subject(envelope)
    if not subject:
        return envelope, None
    data = _copy(envelope.data)
    sealed_any = False
    for path in rule.paths(data):
        value = _get(data, path)
        if not isinstance(value, str) or not value or is_sealed(value) or value == ERASED:
            continue
        try:
            _set(data, path, await keys.seal(subject, value))
        except SubjectForgotten:
            raise PersonErasedAlready("该人员的个人信息已删除，不能再记录 (this person's data was erased)",
                                      field=path) from None
        sealed_any = True
    return (envelope.model_copy(update={"data": data}), subject) if sealed_any else (envelope, None)


async def open_values(keys: SubjectKeys, value: Any) -> Any:
    """``value`` with every sealed string in it opened (``ERASED`` where its subject was forgotten)."""
    if isinstance(value, dict):
        return {k: await open_values(keys, v) for k, v in value.items()}
    if isinstance(value, list):
        return [await open_values(keys, v) for v in value]
    if is_sealed(value):
        return await keys.open(value)
    return value


class SealingStore:
    """A ``StreamStore`` that seals personal fields on append and opens them on ``read_stream`` (for the fold).
    Everything else (positions, commits, the relay's and rebuild's reads) is the wrapped store's, in ciphertext."""

    def __init__(self, store: StreamStore, keys: SubjectKeys, rules: dict[str, SealRule], db: AsyncDatabase[Any]):
        self.inner = store
        self.keys = keys
        self.rules = rules
        self._subjects = db[SUBJECT_STREAMS]

    @property
    def appended(self) -> asyncio.Event:
        return self.inner.appended

    def __getattr__(self, name: str) -> Any:  # collection, max_commit_bytes, ... of the wrapped store
        return getattr(self.inner, name)

    async def ensure_indexes(self) -> None:
        await self.inner.ensure_indexes()
        await self._subjects.create_index("subject_id")

    async def append(self, stream_id: str, expected_version: int, events: Sequence[EventEnvelope]) -> Commit:
        sealed: list[EventEnvelope] = []
        subjects: set[str] = set()
        for envelope in events:
            rule = self.rules.get(envelope.type)
            if rule is not None:
                envelope, subject = await seal_envelope(self.keys, envelope, rule)
                if subject:
                    subjects.add(subject)
            sealed.append(envelope)
        for subject in sorted(subjects):  # before the commit: an erasure never misses a stream holding its values
            await claim(self._subjects, {"_id": f"{subject}:{stream_id}", "subject_id": subject,
                                         "stream_id": stream_id})
        return await self.inner.append(stream_id, expected_version, sealed)

    async def require_not_erased(self, subject_id: str) -> None:
        """Before a command writes anything of a person: refused (409 person_erased) once they were erased."""
        if await self.keys.forgotten(subject_id):
            raise PersonErasedAlready("该人员的个人信息已删除，不能再记录 (this person's data was erased)",
                                      field="subject_id")

    async def streams_of(self, subject_id: str) -> list[str]:
        docs = await self._subjects.find({"subject_id": subject_id}).to_list(None)
        return sorted(d["stream_id"] for d in docs)

    async def stream_version(self, stream_id: str) -> int:
        return await self.inner.stream_version(stream_id)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[EventEnvelope]:
        return [await self._open(e) for e in await self.inner.read_stream(stream_id, from_version)]

    async def _open(self, envelope: EventEnvelope) -> EventEnvelope:
        if envelope.type not in self.rules:
            return envelope
        return envelope.model_copy(update={"data": await open_values(self.keys, envelope.data)})

    async def read_commits(self, stream_id: str) -> list[Commit]:
        return await self.inner.read_commits(stream_id)

    def read_all(self, from_position: int = 1) -> AsyncIterator[Commit]:
        return self.inner.read_all(from_position)

    async def head_position(self) -> int:
        return await self.inner.head_position()
