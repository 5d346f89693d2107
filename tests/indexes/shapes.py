"""Query shapes against declared indexes: reading the recorded shapes (nrmm_kernel.query_shapes) and judging them.

A shape is served when an index the collection declares (``_id`` always) starts with a field the filter matches by
equality, ``$in`` or a range (a prefix match: the index narrows the query to the matching keys), or when the query
reads a bounded first few (``limit`` in the command: ``to_list(n)`` alone sends none) in the order of an index's
leading key. ``$or`` is served when each branch is. Scans that are so by design (a collection bounded by nature)
are listed in ``SCANS_BY_DESIGN`` with their reason.

The checked-in baseline (tests/indexes/query_shapes.jsonl) is what a whole run of the suite recorded; the test adds
it to what its own run recorded, so that it judges real shapes even when run alone. Refresh it after a whole run:

    uv run python -m tests.indexes.shapes "$NRMM_VAR_DIR/query-shapes/<run>.jsonl"   # or the newest file there
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).with_name("query_shapes.jsonl")
USABLE = frozenset({"eq", "in", "range"})

# (collection, filter fields) -> why scanning it is right
SCANS_BY_DESIGN: dict[tuple[str, tuple[str, ...]], str] = {
    ("outbox_parked", ()): "dead letters an operator re-drives: none in a healthy service, a handful otherwise",
    ("zones", ()): "restricted zones, city-wide: a few per district",
    ("zones", ("active",)): "restricted zones, city-wide: a few per district",
    ("system_clients", ()): "departments' system clients: dozens",
    ("feed_subscriptions", ()): "departments' feed subscriptions: dozens",
    ("view_changes_own", ()): "change marks the views' refresher drains as it reads them",
    ("view_changes_sites", ()): "change marks the views' refresher drains as it reads them",
    ("outbox_messages", ()): "the development message channel (NRMM_MESSAGE_CHANNEL=outbox), never in production",
    ("outbox_messages", ("channel",)): "the development message channel, never in production",
    ("outbox_messages", ("template",)): "the development message channel, never in production",
    ("outbox_messages", ("channel", "template")): "the development message channel, never in production",
    ("spot_checks", ()): "results per manufacturer city-wide: an aggregation over every spot check (hundreds a year)",
    ("projection_runners", ("projections", "seen_at", "stopped")): "one document per running projector process",
    ("view_sites", ()): "the views' refresher lists every site's code once per refresh: reading them all is its job",
}

# scratch collections a rebuild (``<name>__rebuild``) or an as-of read (``asof__<name>__<id>``) writes, reads whole
# and then swaps or drops; and files whose job is to read every document (an export's or import's digest)
SCRATCH = (re.compile(r"__rebuild$"), re.compile(r"^asof__"))
WHOLE_READERS = {"nrmm_kernel/audit_export.py": "an export's digest reads every document of a projection"}

# (collection, filter fields) -> known to scan, not yet fixed, and how to fix it: the test lets them pass, named
KNOWN_UNSERVED: dict[tuple[str, tuple[str, ...]], str] = {
    **{("machine_records", (f"uploads.{kind}",)): "a staff read of an upload looks for the record citing it: to fix "
       "with a write-side index upload -> machine (registry/api/routes.py)"
       for kind in ("identity_proof", "machine_nameplate", "engine_nameplate", "environmental_label",
                    "conformity_certificate", "photo_front", "photo_back", "photo_left", "photo_right")},
    ("erased_subjects", ()): "every erased subject's id, read whole (nrmm_kernel/forgetting.py): grows with erasures; "
                             "to fix with lookups by id",
    ("violations", ()): "repeat offences counted over every violation of a city-level caller "
                        "(inspection/app/queries.py): to fix with a counts projection",
}


def load(paths: Iterable[Path]) -> tuple[dict[str, set[tuple[str, ...]]], list[dict[str, Any]]]:
    """Declared indexes per collection, and the distinct query shapes the platform's own code sent (queries a
    test makes to inspect the database are not the platform's)."""
    indexes: dict[str, set[tuple[str, ...]]] = {}
    queries: dict[str, dict[str, Any]] = {}
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if record["kind"] == "index":
                indexes.setdefault(record["collection"], set()).add(tuple(record["keys"]))
            elif not record["origin"].startswith(("tests/", "bench/")):
                record["origin"] = record["origin"].rsplit(":", 1)[0]  # the file: line numbers move
                queries[json.dumps(record, sort_keys=True)] = record
    return indexes, list(queries.values())


def served(shape: dict[str, Any], indexes: set[tuple[str, ...]]) -> bool:
    keys = indexes | {("_id",)}
    usable = {field for field, how in shape["filter"].items() if isinstance(how, str) and how in USABLE}
    if any(index[0] in usable for index in keys):
        return True
    branches = shape["filter"].get("$or")
    if isinstance(branches, list) and branches:
        return all(served({**shape, "filter": {**branch, **{f: h for f, h in shape["filter"].items()
                                                            if f != "$or"}}}, indexes) for branch in branches)
    if shape["limited"]:
        sort = shape["sort"]
        return any(index[0] == sort[0] for index in keys) if sort else not shape["filter"]
    return False


def unserved(indexes: dict[str, set[tuple[str, ...]]], queries: list[dict[str, Any]]) -> list[str]:
    found = []
    for shape in queries:
        fields = tuple(sorted(f for f in shape["filter"] if not f.startswith("$")))
        if (shape["collection"], fields) in SCANS_BY_DESIGN or (shape["collection"], fields) in KNOWN_UNSERVED:
            continue
        if any(p.search(shape["collection"]) for p in SCRATCH) or shape["origin"] in WHOLE_READERS:
            continue
        if not served(shape, indexes.get(shape["collection"], set())):
            declared = sorted(indexes.get(shape["collection"], set()))
            found.append(f"{shape['collection']}: {shape['op']} filter {shape['filter']} sort {shape['sort']} "
                         f"from {shape['origin']}; declared {declared}")
    return sorted(set(found))


def update_baseline(recorded: Path) -> int:
    """The baseline from a whole run's file: declared indexes and the platform's shapes, without line numbers."""
    indexes, queries = load([recorded])
    lines = {json.dumps({"kind": "index", "collection": c, "keys": list(k)}, sort_keys=True, ensure_ascii=False)
             for c, ks in indexes.items() for k in ks}
    lines |= {json.dumps(q, sort_keys=True, ensure_ascii=False) for q in queries}
    BASELINE.write_text("".join(f"{line}\n" for line in sorted(lines)), encoding="utf-8")
    print(f"{BASELINE}: {len(queries)} shapes, {sum(len(k) for k in indexes.values())} indexes")
    return 0


if __name__ == "__main__":
    sys.exit(update_baseline(Path(sys.argv[1])))
