"""A rebuild's swap: live runners paused under a lease, the rebuilt copy caught up and renamed in, and a swap that
died halfway undone by the next runner (one of them: a unique insert of the swap's restore token)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from .claims import claim
from .envelope import utcnow
from .logging import get_logger
from .projection import Projection

log = get_logger("projector")

CONTROL = "projection_control"
PAUSE_LEASE = 300  # seconds a rebuild may hold live runners paused
LEASE_MARGIN = 10  # seconds of the lease a rebuild must still hold to start its swap
RETIRED = "__retired"  # the live copy, for the moment a rebuild swaps its copy in
RUNNER_ALIVE = 60  # seconds since its last heartbeat that a runner counts as running
RUNNERS = "projection_runners"


async def swap_in(db: AsyncDatabase[Any], projection: Projection, scratch: AsyncCollection[Any],
                  catch_up: Callable[[], Awaitable[None]],
                   pause_timeout: float) -> None:
    """Pause the live runners, catch the scratch copy up with what they applied, and swap it in."""
    name = projection.name
    await restore_interrupted_swap(db, name)  # an earlier rebuild's unfinished swap first: its copy is the live one
    requested_at = utcnow()
    await db[CONTROL].update_one(
        {"_id": name},
        {"$set": {"paused": True, "requested_at": requested_at,
                  "until": requested_at + timedelta(seconds=PAUSE_LEASE)}},
        upsert=True,
    )
    retired = db[f"{name}{RETIRED}"]
    try:
        await _wait_for_pause(db, name, requested_at, pause_timeout)
        await catch_up()
        # the runners stay paused only while the lease holds: run out, they went on writing the live copy,
        # which this copy does not have. Held, it is renewed for the swap.
        now = utcnow()
        held = await db[CONTROL].update_one(
            {"_id": name, "paused": True, "requested_at": requested_at,
             "until": {"$gt": now + timedelta(seconds=LEASE_MARGIN)}},
            {"$set": {"until": now + timedelta(seconds=PAUSE_LEASE)}})
        if held.matched_count != 1:
            raise TimeoutError(f"the pause of {name} ran out (or another rebuild took it) before the swap: "
                               "rebuild again")
        # never a moment without one whole copy kept: live -> retired, scratch -> live, then retired dropped
        # (FerretDB has no renameCollection dropTarget). The "swapping" mark says a swap is under way: one that
        # died before the mark was cleared is undone by restore_interrupted_swap, which every runner calls
        # before it applies anything.
        await retired.drop()
        await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": uuid.uuid4().hex}})
        try:
            if await _exists(db, name):
                await db[name].rename(retired.name)
            if await scratch.find_one({}, projection={"_id": 1}) is not None:  # a count is a scan on FerretDB
                await scratch.rename(name)
            await projection.ensure_indexes(db[name])
        except BaseException:
            await restore_interrupted_swap(db, name)
            raise
        await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": False}})
        await retired.drop()
    finally:
        await db[CONTROL].update_one({"_id": name}, {"$set": {"paused": False}}, upsert=True)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _exists(db: AsyncDatabase[Any], name: str) -> bool:
    return bool(await db.list_collection_names(filter={"name": name}))


async def restore_interrupted_swap(db: AsyncDatabase[Any], name: str) -> bool:
    """Undo a swap that did not finish: the live copy, renamed aside, goes back (and whatever an interrupted
    rename or a runner's index creation left under the live name meanwhile goes). Of the runners that find the
    swap unfinished, one restores: the one whose insert of the swap's restore token succeeds."""
    control = await db[CONTROL].find_one({"_id": name}, projection={"swapping": 1})
    token = (control or {}).get("swapping")
    if not token:
        return False
    if not await claim(db[CONTROL], {"_id": f"{name}:restore:{token}", "at": utcnow()}):
        return False  # another runner (or the rebuild itself) is restoring it
    restored = False
    if await _exists(db, f"{name}{RETIRED}"):
        await db[name].drop()
        await db[f"{name}{RETIRED}"].rename(name)
        restored = True
        log.warning("projection.swap_restored", projection=name)
    await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": False}})
    return restored


async def _wait_for_pause(db: AsyncDatabase[Any], name: str, requested_at: datetime, limit_seconds: float) -> None:
    """Wait until every live runner of this projection has acknowledged the pause."""
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while True:
        alive_since = utcnow() - timedelta(seconds=RUNNER_ALIVE)
        running = await db[RUNNERS].count_documents(
            {"projections": name, "stopped": False, "seen_at": {"$gte": alive_since},
             "$or": [{"paused": False}, {"seen_at": {"$lt": requested_at}}]}
        )
        if running == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"live runners of {name} did not pause within {limit_seconds}s")
        await asyncio.sleep(0.1)
