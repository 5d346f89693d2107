"""A projection that shows every apply: each document lists the stream versions folded into it, in the order they
were folded. A version applied twice appears twice; one applied out of order breaks the ascending run."""

from __future__ import annotations

from typing import Any

from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projection import Projection, on
from tests.sample import MachineMoved, MachineRegistered, MachineRetired, registry


class Ledger(Projection):
    name = "instance_ledger"
    contract = registry

    @on(MachineRegistered, MachineMoved, MachineRetired)
    def folded(self, doc: dict[str, Any] | None, event: Any, envelope: EventEnvelope) -> dict[str, Any]:
        return {"versions": [*(doc or {}).get("versions", []), envelope.streamversion]}


def faults(docs: dict[str, dict[str, Any]], expected: dict[str, int]) -> list[str]:
    """Streams whose document is not exactly versions 1..n, once each and in order."""
    return [f"{stream}: {(docs.get(stream) or {}).get('versions')}" for stream, n in expected.items()
            if (docs.get(stream) or {}).get("versions") != list(range(1, n + 1))]


def envelopes(stream: str, versions: range) -> list[EventEnvelope]:
    return [registry.wrap(MachineRegistered(code="4-N0100001", category="crane") if v == 1 else
                          MachineMoved(site=f"S-{v}"), stream_id=stream, stream_version=v) for v in versions]
