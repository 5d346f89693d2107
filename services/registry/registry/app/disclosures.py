"""The reviewer's queue flags an application whose engine model or emission stage disagrees with its model's
disclosure (rule N1; the registry's copy of the disclosures, fed from the inspection topic)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from inspection.contracts import model_key

from ..projections.disclosures import DISCLOSURES


def normalise_text(value) -> str:
    return "".join(str(value or "").split()).upper()


def disclosure_flags(machine: dict, disclosed: dict | None) -> dict:
    """What the queue shows of one application against its model's disclosure."""
    if disclosed is None:
        return {"disclosed": False, "flagged": False, "differences": []}
    applied = {"engine_model": (machine.get("engine") or {}).get("model"),
               "emission_stage": machine.get("emission_stage")}
    differences = [{"field": field, "applied": value, "disclosed": disclosed.get(field)}
                   for field, value in applied.items()
                   if value is not None and normalise_text(value) != normalise_text(disclosed.get(field))]
    return {"disclosed": True, "flagged": bool(differences), "differences": differences,
            "label_number": disclosed.get("label_number"), "manufacturer": disclosed.get("manufacturer")}


async def with_disclosure_flags(db: AsyncDatabase, docs: list[dict]) -> list[dict]:
    """Each application with ``disclosure``: its model's disclosure found or not, and what disagrees."""
    keys = {id(d): model_key((d.get("machine") or {}).get("brand", ""), (d.get("machine") or {}).get("model", ""))
            for d in docs}
    found = {d["_id"]: d async for d in db[DISCLOSURES].find({"_id": {"$in": sorted(set(keys.values()))}})} \
        if docs else {}
    return [{**d, "disclosure": disclosure_flags(d.get("machine") or {}, found.get(keys[id(d)]))} for d in docs]
