"""Imports of shared data (rules D5, N1): special-equipment records and manufacturers' disclosures, by upload,
push or the command line; one report per import, with each refused row named.

Every record is its own stream, so rows are independent: a row with an error is reported and the rest recorded.
A write-side index (one document per stream: digest, version, follow-up state) lets a re-import skip unchanged rows
without reading their streams; the index is a hint, never the judge: a row appended on a stale version meets a
``ConcurrencyError``, its stream is read and the row decided again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.envelope import Actor, utcnow
from nrmm_kernel.errors import ConcurrencyError
from nrmm_kernel.eventstore import EventStore

from ..domain.events import registry
from ..domain.sharing_events import FollowUpOpened
from ..domain.special_equipment import Disclosure, DisclosureRow, EquipmentRow, SpecialEquipment
from ..projections.sharing import APPLICATIONS, KNOWN_STATUSES

EQUIPMENT_INDEX = "special_equipment_index"  # write side: registration number -> digest, version, follow-up
DISCLOSURE_INDEX = "disclosure_index"  # write side: model key -> digest, version, the disclosed facts
BATCH = 500
CONCURRENCY = 16
MAX_ERRORS_SHOWN = 1000


def row_errors(number: int, exc: ValidationError) -> list[dict]:
    out = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or None
        out.append({"row": number, "field": field, "code": error["type"], "message": error["msg"]})
    return out


class Report:
    def __init__(self):
        self.rows = self.recorded = self.unchanged = 0
        self.matched = self.follow_ups_opened = self.follow_ups_closed = 0
        self.errors: list[dict] = []
        self.error_count = 0

    def error(self, *entries: dict) -> None:
        """One refused row, with each of its faults."""
        self.error_count += 1
        room = MAX_ERRORS_SHOWN - len(self.errors)
        self.errors.extend(entries[:max(room, 0)])

    def as_dict(self) -> dict:
        body = {"rows": self.rows, "recorded": self.recorded, "unchanged": self.unchanged,
                "rejected": self.error_count, "errors": self.errors}
        if self.matched or self.follow_ups_opened or self.follow_ups_closed:
            body.update(matched=self.matched, follow_ups_opened=self.follow_ups_opened,
                        follow_ups_closed=self.follow_ups_closed)
        return body


class SharingImports:
    def __init__(self, db: AsyncDatabase, store: EventStore, clock: Callable = utcnow):
        self.db = db
        self.clock = clock
        self.equipment = AggregateRepository(store, registry, SpecialEquipment, "special-equipment")
        self.disclosures = AggregateRepository(store, registry, Disclosure, "disclosure")

    async def ensure_indexes(self) -> None:
        await self.db[EQUIPMENT_INDEX].create_index([("serial_key", ASCENDING), ("follow_up", ASCENDING)])

    # special equipment (rule D5) -------------------------------------------------------------------------------
    async def import_equipment(self, rows: Iterable[tuple[int, dict]], *, source: str, actor: Actor,
                               progress: Callable[[int], None] | None = None) -> dict:
        report = Report()
        for read, valid in _valid_batches(rows, EquipmentRow, lambda r: r.registration_number, "registration_number",
                                          "登记证编号在本次导入中重复 (the same record twice in one import)", report):
            await self._equipment_batch(valid, source, actor, report)
            if progress:
                progress(read)
        return report.as_dict()

    async def _equipment_batch(self, rows: list[EquipmentRow], source: str, actor: Actor, report: Report) -> None:
        index = {d["_id"]: d async for d in self.db[EQUIPMENT_INDEX].find(
            {"_id": {"$in": [r.registration_number for r in rows]}})}
        changed = [r for r in rows if (index.get(r.registration_number) or {}).get("digest") != r.digest()]
        report.unchanged += len(rows) - len(changed)
        if not changed:
            return
        known = {}
        async for doc in self.db[APPLICATIONS].find({"serial_key": {"$in": sorted({r.serial_key for r in changed})}}):
            if doc.get("status") in KNOWN_STATUSES:
                known[doc["serial_key"]] = doc
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(row: EquipmentRow) -> SpecialEquipment | None:
            async with limit:
                return await self._record(row, index.get(row.registration_number), known.get(row.serial_key), source,
                                          actor, report)

        written = [a for a in await asyncio.gather(*(one(r) for r in changed)) if a is not None]
        await self._index_many(written, fresh={r.registration_number for r in changed
                                               if r.registration_number not in index})

    async def _record(self, row: EquipmentRow, hint: dict | None, known: dict | None, source: str, actor: Actor,
                      report: Report) -> SpecialEquipment | None:
        """Decide one row on its stream; the aggregate to index (None: nothing changed)."""
        aggregate = _from_hint(row.registration_number, hint)
        for attempt in range(3):
            now = self.clock()
            if not aggregate.receive(row, known=known, source=source, today=today_in_chongqing(now), now=now):
                report.unchanged += 1  # the index was behind its stream: mend it
                await self._index_equipment(aggregate)
                return None
            opened = any(isinstance(e, FollowUpOpened) for e in aggregate.pending)
            try:
                await self.equipment.save(aggregate, actor=actor, subject=row.district)
            except ConcurrencyError:
                if attempt == 2:
                    raise
                aggregate = await self.equipment.load(row.registration_number) \
                    or SpecialEquipment(row.registration_number)
                continue
            break
        report.recorded += 1
        report.matched += known is not None
        report.follow_ups_opened += opened
        return aggregate

    @staticmethod
    def _index_fields(aggregate: SpecialEquipment) -> dict:
        return {"digest": aggregate.digest, "version": aggregate.version, "serial_key": aggregate.serial_key,
                "matched_machine": aggregate.matched_machine, "follow_up": aggregate.follow_up}

    async def _index_equipment(self, aggregate: SpecialEquipment) -> None:
        await self.db[EQUIPMENT_INDEX].update_one({"_id": aggregate.id}, {"$set": self._index_fields(aggregate)},
                                                  upsert=True)

    async def _index_many(self, aggregates: list[SpecialEquipment], fresh: set[str]) -> None:
        """After the batch's appends (a crash in between leaves the index behind: the next import mends it). New
        records are inserted together (an upsert costs FerretDB a lookup per row, measured 40 times slower)."""
        new = [{"_id": a.id, **self._index_fields(a)} for a in aggregates if a.id in fresh]
        if new:
            try:
                await self.db[EQUIPMENT_INDEX].insert_many(new, ordered=False)
            except BulkWriteError as exc:  # some were indexed meanwhile (another import): set them
                taken = {new[e["index"]]["_id"] for e in exc.details.get("writeErrors", []) if e.get("code") == 11000}
                if len(taken) != len(exc.details.get("writeErrors", [])):
                    raise
                for aggregate in (a for a in aggregates if a.id in taken):
                    await self._index_equipment(aggregate)
        for aggregate in (a for a in aggregates if a.id not in fresh):
            await self.db[EQUIPMENT_INDEX].update_one({"_id": aggregate.id}, {"$set": self._index_fields(aggregate)})

    async def close_follow_ups(self, serial_key: str, registry_machine_id: str, actor: Actor) -> int:
        """A code application for this machine appeared: every open task for it closes (rule D5)."""
        closed = 0
        for doc in await self.db[EQUIPMENT_INDEX].find({"serial_key": serial_key, "follow_up": "open"}).to_list(None):
            for _ in range(3):
                aggregate = await self.equipment.load(doc["_id"])
                if aggregate is None or not aggregate.close(registry_machine_id, self.clock()):
                    break
                try:
                    await self.equipment.save(aggregate, actor=actor)
                except ConcurrencyError:
                    continue
                closed += 1
                break
            if aggregate is not None:
                await self._index_equipment(aggregate)
        return closed

    # disclosures (rule N1) -------------------------------------------------------------------------------------
    async def import_disclosures(self, rows: Iterable[tuple[int, dict]], *, source: str, actor: Actor,
                                 progress: Callable[[int], None] | None = None) -> dict:
        report = Report()
        for read, valid in _valid_batches(rows, DisclosureRow, lambda r: r.model_key, "model",
                                          "同一型号在本次导入中重复 (the same model twice in one import)", report):
            index = {d["_id"]: d async for d in self.db[DISCLOSURE_INDEX].find(
                {"_id": {"$in": [r.model_key for r in valid]}})}
            for row in valid:
                await self._disclose(row, index.get(row.model_key), source, actor, report)
            if progress:
                progress(read)
        return report.as_dict()

    async def _disclose(self, row: DisclosureRow, hint: dict | None, source: str, actor: Actor,
                        report: Report) -> None:
        if hint is not None and hint.get("digest") == row.digest():
            report.unchanged += 1
            return
        aggregate = await self.disclosures.load(row.model_key) or Disclosure(row.model_key)
        if not aggregate.disclose(row, source=source):
            report.unchanged += 1
        else:
            await self.disclosures.save(aggregate, actor=actor)
            report.recorded += 1
        await self.db[DISCLOSURE_INDEX].update_one({"_id": row.model_key}, {"$set": {
            "digest": aggregate.digest, "brand": row.brand, "model": row.model, "manufacturer": row.manufacturer,
            "engine_model": row.engine_model, "emission_stage": row.emission_stage,
            "label_number": row.label_number}}, upsert=True)

    async def disclosed(self, model_key: str) -> dict | None:
        """The disclosed facts of a model, write side (a spot check decides from them)."""
        return await self.db[DISCLOSURE_INDEX].find_one({"_id": model_key})



def _valid(model: Any, number: int, raw: dict, report: Report) -> Any:
    if not isinstance(raw, dict) or "__not_an_object__" in raw or "__extra_cells__" in raw:
        report.error({"row": number, "field": None, "code": "malformed_row",
                      "message": "该行无法读取 (not a record, or more cells than headers)"})
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        report.error(*row_errors(number, exc))
        return None


def _valid_batches(rows: Iterable[tuple[int, dict]], model: Any, key: Callable[[Any], str], field: str,
                   duplicate: str, report: Report) -> Iterator[tuple[int, list[Any]]]:
    """Batches of an import: (rows read, the valid rows not seen before in this import). A row with errors, or
    one that repeats an earlier row's key, is reported by its number and left out; the rest go on."""
    seen: set[str] = set()
    for batch in _batches(rows):
        valid = []
        for number, raw in batch:
            report.rows += 1
            row = _valid(model, number, raw, report)
            if row is None:
                continue
            if key(row) in seen:
                report.error({"row": number, "field": field, "code": "duplicate_row", "message": duplicate})
                continue
            seen.add(key(row))
            valid.append(row)
        yield len(batch), valid


def _from_hint(registration_number: str, hint: dict | None) -> SpecialEquipment:
    """The aggregate as the index remembers it; a stale hint fails the append and the stream is read instead."""
    aggregate = SpecialEquipment(registration_number)
    if hint is not None:
        aggregate.version = hint.get("version", 0)
        aggregate.digest = hint.get("digest")
        aggregate.serial_key = hint.get("serial_key")
        aggregate.matched_machine = hint.get("matched_machine")
        aggregate.follow_up = hint.get("follow_up")
    return aggregate


def _batches(rows: Iterable[tuple[int, dict]], size: int = BATCH):
    batch = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
