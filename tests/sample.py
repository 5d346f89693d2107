"""A small sample domain used to exercise the kernel: machines registered, moved between sites, retired."""

from __future__ import annotations

from nrmm_kernel.aggregate import CreatedAggregate, folds
from nrmm_kernel.envelope import DomainEvent, EventEnvelope, EventRegistry
from nrmm_kernel.errors import Conflict
from nrmm_kernel.projector import Projection, on

registry = EventRegistry(namespace="test.nrmm.sample", source="/nrmm/sample")


@registry.register
class MachineRegistered(DomainEvent):
    schema_version = 2
    code: str
    category: str


@registry.upcaster(MachineRegistered, from_version=1)
def _registered_v1_to_v2(data: dict) -> dict:
    # v1 had no category; older records default to "other"
    return {**data, "category": "other"}


@registry.register
class MachineMoved(DomainEvent):
    site: str


@registry.register
class MachineRetired(DomainEvent):
    reason: str


class SampleMachine(CreatedAggregate[MachineRegistered]):
    creation = MachineRegistered

    def __init__(self, aggregate_id: str, created: MachineRegistered):
        super().__init__(aggregate_id, created)
        self.code = created.code
        self.site: str | None = None  # not on any site yet
        self.retired = False
        self.moves = 0

    # commands
    @classmethod
    def register(cls, aggregate_id: str, code: str, category: str) -> SampleMachine:
        return cls.create(aggregate_id, MachineRegistered(code=code, category=category))

    def move(self, site: str) -> None:
        if self.retired:
            raise Conflict("a retired machine cannot move", code="machine_retired")
        self.record(MachineMoved(site=site))

    def retire(self, reason: str) -> None:
        if not self.retired:
            self.record(MachineRetired(reason=reason))

    # fold
    @folds(MachineMoved)
    def on_MachineMoved(self, e: MachineMoved) -> None:
        self.site = e.site
        self.moves += 1

    @folds(MachineRetired)
    def on_MachineRetired(self, e: MachineRetired) -> None:
        self.retired = True


class MachineView(Projection):
    """One document per machine stream."""

    name = "sample_machines"
    contract = registry

    @staticmethod
    def _new(doc):
        return dict(doc or {"moves": 0, "retired": False, "site": None})

    @on(MachineRegistered)
    def registered(self, doc, event: MachineRegistered, envelope: EventEnvelope):
        return {**self._new(doc), "code": event.code, "category": event.category}

    @on(MachineMoved)
    def moved(self, doc, event: MachineMoved, envelope: EventEnvelope):
        doc = self._new(doc)
        return {**doc, "site": event.site, "moves": doc["moves"] + 1}

    @on(MachineRetired)
    def retired(self, doc, event: MachineRetired, envelope: EventEnvelope):
        return {**self._new(doc), "retired": True}


class SiteRoster(Projection):
    """One document per site, fed by many machine streams (exercises per-stream version guards)."""

    name = "sample_site_visits"
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["site"]

    @on(MachineMoved)
    def moved(self, doc, event: MachineMoved, envelope: EventEnvelope):
        doc = dict(doc or {"visits": 0, "machines": []})
        doc["visits"] += 1
        if envelope.streamid not in doc["machines"]:
            doc["machines"] = sorted([*doc["machines"], envelope.streamid])
        return doc
