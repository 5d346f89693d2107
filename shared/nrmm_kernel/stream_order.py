"""A projector's check of each stream's order on the topic, and its reset when partitions move."""

from __future__ import annotations

from aiokafka import ConsumerRebalanceListener

from .envelope import EventEnvelope
from .logging import get_logger

log = get_logger("projector")


class StreamOrder:
    """Skips an event that arrives after a gap in its stream.

    A relay whose send failed halfway may have put v(n+1) on the topic before republishing v(n):
    applying v(n+1) then would make v(n) look like a duplicate. The republished run brings v(n+1)
    again, in order, so an early one is skipped.
    """

    LIMIT = 200_000  # streams remembered; the oldest is forgotten first

    def __init__(self) -> None:
        self._last_seen: dict[str, int] = {}

    def accept(self, envelope: EventEnvelope) -> bool:
        stream, version = envelope.streamid, envelope.streamversion
        last = self._last_seen.get(stream)
        if last is not None and version > last + 1:
            log.warning("projector.gap", stream=stream, version=version, last_seen=last)
            return False
        if last is None or version > last:
            self._last_seen.pop(stream, None)
            self._last_seen[stream] = version
            if len(self._last_seen) > self.LIMIT:
                self._last_seen.pop(next(iter(self._last_seen)))
        return True

    def forget(self) -> None:
        self._last_seen.clear()


class ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no types
    """What this runner saw of a stream says nothing once its partition may have been served elsewhere:
    another runner may have applied later versions meanwhile, so the gap check starts afresh."""

    def __init__(self, order: StreamOrder):
        self._order = order

    async def on_partitions_revoked(self, revoked: object) -> None:
        self._order.forget()

    async def on_partitions_assigned(self, assigned: object) -> None:
        self._order.forget()
