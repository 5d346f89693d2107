"""Personal data that can be forgotten (PIPL art. 47): crypto-shredding with one key per data subject.

A personal value (ID number, mobile, a person's name) is sealed with AES-GCM under a key of its data subject
before it enters an event, the event store, Kafka or a read model; the key lives only in the owning service's
``subject_keys`` collection, never on Kafka. Forgetting a subject deletes its key: every copy of the sealed value,
in every log and rebuild, then reads as erased, and the event store's hashes (over the ciphertext) still verify.

A sealed value is text: ``pd1:<subject id>:<base64url(nonce | ciphertext+tag)>``. The subject id is a
pseudonymous account id, bound into the ciphertext as associated data so a value cannot be moved to another
subject.
"""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

PREFIX = "pd1:"
ERASED = "【已删除】"  # what a forgotten value reads as, everywhere
KEYS = "subject_keys"
CACHE_SECONDS = 5.0  # a forgotten key stops working in other processes within this


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def subject_of(sealed: str) -> str:
    """The data subject a sealed value belongs to."""
    return sealed[len(PREFIX):].split(":", 1)[0]


class SubjectKeys:
    """The keys of one service's data subjects: seal, open, forget."""

    def __init__(self, db: AsyncDatabase[Any], *, collection: str = KEYS, clock: Any = time.monotonic):
        self._coll = db[collection]
        self._clock = clock
        self._cache: dict[str, tuple[float, bytes | None]] = {}

    async def _key(self, subject_id: str, *, create: bool) -> bytes | None:
        cached = self._cache.get(subject_id)
        if cached and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        doc = await self._coll.find_one({"_id": subject_id})
        if doc is None and create:
            doc = {"_id": subject_id, "key": AESGCM.generate_key(bit_length=256), "created_at": datetime.now(UTC)}
            try:
                await self._coll.insert_one(doc)
            except DuplicateKeyError:  # another writer created it first: use theirs
                doc = await self._coll.find_one({"_id": subject_id})
        key = bytes(doc["key"]) if doc and doc.get("key") else None
        if doc is not None:  # an unknown subject is not cached: its key may be created any moment
            self._cache[subject_id] = (self._clock(), key)
        return key

    async def seal(self, subject_id: str, value: str) -> str:
        """``value`` sealed under the subject's key (created on first use). Refused once the subject is forgotten."""
        if ":" in subject_id:
            raise ValueError("a subject id has no ':'")
        key = await self._key(subject_id, create=True)
        if key is None:
            raise SubjectForgotten(subject_id)
        nonce = os.urandom(12)
        box = AESGCM(key).encrypt(nonce, value.encode(), subject_id.encode())
        return f"{PREFIX}{subject_id}:{base64.urlsafe_b64encode(nonce + box).decode().rstrip('=')}"

    async def open(self, value: str | None) -> str | None:
        """The plain value of a sealed one; ``ERASED`` once its subject is forgotten. Plain text passes through."""
        if not is_sealed(value):
            return value
        assert value is not None
        subject_id, _, body = value[len(PREFIX):].partition(":")
        key = await self._key(subject_id, create=False)
        if key is None:
            return ERASED
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], subject_id.encode()).decode()
        except InvalidTag:
            return ERASED

    async def forget(self, subject_id: str) -> bool:
        """Delete the subject's key for good (a tombstone stays so it is never created again). True if it existed."""
        result = await self._coll.update_one(
            {"_id": subject_id}, {"$set": {"key": None, "forgotten_at": datetime.now(UTC)}}, upsert=True)
        self._cache[subject_id] = (self._clock(), None)
        return result.matched_count > 0

    async def forgotten(self, subject_id: str) -> bool:
        doc = await self._coll.find_one({"_id": subject_id})
        return bool(doc and doc.get("forgotten_at"))


class SubjectForgotten(Exception):
    """Nothing new is sealed for a subject whose data was erased."""
