"""The five generated characters of a Chongqing code (rule C5): unique city-wide, never reused.

Each serial is claimed by inserting it as the _id of a document that is never deleted; the unique
_id index makes two approvals racing for the same serial end with one winner, on MongoDB and FerretDB
alike. Serials are random, so codes cannot be guessed from one another.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim
from nrmm_kernel.codes import SERIAL_ALPHABET, SERIAL_LENGTH
from nrmm_kernel.envelope import utcnow

COLLECTION = "code_serials"


def random_serial() -> str:
    return "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH))


class SerialExhausted(RuntimeError):
    pass


class SerialAllocator:
    def __init__(self, db: AsyncDatabase, generate: Callable[[], str] = random_serial, attempts: int = 64):
        self._coll = db[COLLECTION]
        self._generate = generate
        self._attempts = attempts

    async def claim(self, machine_id: str) -> str:
        for _ in range(self._attempts):
            serial = self._generate()
            if await claim(self._coll, {"_id": serial, "machine_id": machine_id, "claimed_at": utcnow()}):
                return serial
            # taken, now or ever: draw again
        raise SerialExhausted(f"no free serial after {self._attempts} draws")
