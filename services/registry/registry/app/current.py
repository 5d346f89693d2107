"""One machine as its own stream now says, found by its code through the write side's code index: for commands by
code, plate and card, verify, and the gates' question before they refuse. No read model is involved, so the answer
is right the instant a command has answered."""

from __future__ import annotations

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.codes import STAGES, EnvironmentalCode, MalformedCode, parse_code, parse_qr_payload
from nrmm_kernel.eventstore import EventStore

from ..domain.events import ExternalMachineConfirmed, ExternalMachineDeclared, registry
from ..domain.machine import MachineRecord, Status
from .code_index import CodeIndex

GATE_MACHINE_FIELDS = {"category", "fuel", "brand", "model", "emission_stage", "rated_power_kw", "district"}


class CurrentRecords:
    def __init__(self, store: EventStore, index: CodeIndex):
        self.store = store
        self.index = index
        self.records = AggregateRepository(store, registry, MachineRecord, "machine")

    async def by_code(self, code: str) -> MachineRecord | None:
        """The record that was issued this code (current or superseded), or None."""
        machine_id = await self.index.machine_id(code)
        if machine_id is None:
            return None
        record = await self.records.load(machine_id)
        return record if record is not None and code in record.codes else None

    async def declarations(self, code: EnvironmentalCode) -> list[dict]:
        """Another province's machine (rule C3): its declarations here, under any stage (one stream per code)."""
        found = []
        for stage in STAGES:
            text = code.with_stage(stage).text
            events = [registry.decode(e) for e in await self.store.read_stream(f"external-{text}")]
            declared = [e for e in events if isinstance(e, ExternalMachineDeclared)]
            if not declared:
                continue
            confirmed = any(e.confirmed for e in declared) or any(
                isinstance(e, ExternalMachineConfirmed) for e in events)
            found.append({"code": text, "category": next((e.category for e in declared if e.category), None),
                          "confirmed": confirmed})
        return found

    async def gate_facts(self, code: EnvironmentalCode) -> dict:
        """What a gate decides on, from the write side: the record of a Chongqing code (None: never issued), or
        another province's declarations of the machine."""
        if not code.is_chongqing:
            return {"record": None, "declared": await self.declarations(code)}
        record = await self.by_code(code.text)
        if record is None:
            return {"record": None, "declared": []}
        machine = record.machine.model_dump(mode="json", include=GATE_MACHINE_FIELDS)
        return {"record": {"status": record.status.value, "code": record.code, "codes": record.codes,
                           "machine": machine, "category": machine["category"], "fuel": machine["fuel"],
                           "brand": machine["brand"], "model": machine["model"]},
                "declared": []}

    async def verify(self, *, code: str | None = None, qr: str | None = None) -> dict:
        """What a scanner needs: is this code good here, and what machine it is (rules C3, E3)."""
        raw = parse_qr_payload(qr) if qr is not None else code
        if not raw:
            return {"valid": False, "reason": "malformed", "message": "无法识别的二维码或编码"}
        try:
            parsed = parse_code(raw)
        except MalformedCode as exc:
            return {"valid": False, "reason": "malformed", "detail": exc.reason, "message": exc.message}
        answer = {"code": parsed.text, "stage": parsed.stage, "province": parsed.province,
                  "chongqing": parsed.is_chongqing, "category": None, "status": None}
        if not parsed.is_chongqing:
            declared = next((d for d in await self.declarations(parsed) if d["code"] == parsed.text), None)
            answer.update(valid=True, status="other_province",
                          category=(declared or {}).get("category"), known=declared is not None)
            return answer
        record = await self.by_code(parsed.text)
        if record is None:
            return {**answer, "valid": False, "reason": "unknown_code", "message": "编码未登记"}
        answer.update(category=record.machine.category.value, status=record.status.value)
        if record.code != parsed.text:
            return {**answer, "valid": False, "reason": "superseded", "current_code": record.code,
                    "message": "编码已更换"}
        if record.status is Status.CANCELLED:
            return {**answer, "valid": False, "reason": "cancelled", "message": "编码已注销"}
        return {**answer, "valid": True}
