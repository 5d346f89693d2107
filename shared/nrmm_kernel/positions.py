"""Read your own writes: the position a command reached, and queries that wait until their read models applied it.

- A commit's position is its place in its service's event store. A command's answer carries the highest
  position it wrote as ``X-Position: <service>:<position>``.
- The outbox relay follows every batch it published with a watermark on each partition of the topic: "every
  commit up to position W is on the topic, ahead of this message". A consumer that has applied everything before
  the watermark of each partition has applied every commit up to the smallest of them.
- A query sent with ``X-Min-Position: <service>:<position>[, ...]`` waits (bounded) until the read models fed
  by each named service's topic in this process have applied those positions; positions of services this
  process does not read are ignored.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from contextvars import ContextVar

from .errors import AppError

POSITION_HEADER = "X-Position"
MIN_POSITION_HEADER = "X-Min-Position"
TOKEN = re.compile(r"^([a-z][a-z0-9_-]{0,30}):(\d{1,18})$")

# positions written while serving the current request (a list the request's middleware owns)
_written: ContextVar[list[int] | None] = ContextVar("written_positions", default=None)


class ReadModelBehind(AppError):
    status = 503
    code = "read_model_behind"


def collect_written() -> list[int]:
    """Start collecting the positions written in this context (and the tasks it starts); returns the list."""
    positions: list[int] = []
    _written.set(positions)
    return positions


def note_written(position: int) -> None:
    positions = _written.get()
    if positions is not None:
        positions.append(position)


def parse_min_positions(header: str) -> dict[str, int]:
    """``registry:12, sites:40`` -> {"registry": 12, "sites": 40}; the highest wins for a service named twice."""
    wanted: dict[str, int] = {}
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        match = TOKEN.match(part)
        if match is None:
            raise AppError(f"{MIN_POSITION_HEADER} 格式应为 <service>:<position>，收到 {part[:40]!r}",
                           code="invalid_min_position", field=MIN_POSITION_HEADER, status=400)
        service, position = match.group(1), int(match.group(2))
        wanted[service] = max(position, wanted.get(service, 0))
    if len(wanted) > 10:
        raise AppError(f"{MIN_POSITION_HEADER} 最多 10 项", code="invalid_min_position", field=MIN_POSITION_HEADER,
                       status=400)
    return wanted


class Watermarks:
    """What one consumer has applied of one service's topic: the relay's watermark per partition."""

    def __init__(self, service: str):
        self.service = service
        self.partitions = 0  # how many the topic has, as the relay said
        self.by_partition: dict[int, int] = {}
        self._changed = asyncio.Event()

    def load(self, partitions: int, by_partition: dict[int, int]) -> None:
        self.partitions = max(self.partitions, partitions)
        for partition, mark in by_partition.items():
            self.by_partition[partition] = max(mark, self.by_partition.get(partition, 0))

    def advance(self, marks: dict[int, tuple[int, int]]) -> None:
        """``marks``: partition -> (watermark, partitions of the topic), from messages now applied."""
        for partition, (mark, partitions) in marks.items():
            self.partitions = max(self.partitions, partitions)
            self.by_partition[partition] = max(mark, self.by_partition.get(partition, 0))
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def applied(self) -> int:
        """Every commit up to this position is applied."""
        if self.partitions == 0:
            return 0
        return min(self.by_partition.get(p, 0) for p in range(self.partitions))

    async def wait_for(self, position: int, deadline: float) -> bool:
        loop = asyncio.get_running_loop()
        while self.applied < position:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return self.applied >= position
        return True


class PositionWaits:
    """The watermarks of every consumer in this process, by the service whose topic it reads."""

    def __init__(self) -> None:
        self._by_service: dict[str, list[Watermarks]] = {}

    def track(self, marks: Watermarks) -> None:
        self._by_service.setdefault(marks.service, []).append(marks)

    def services(self) -> Iterable[str]:
        return self._by_service.keys()

    def applied(self, service: str) -> int | None:
        marks = self._by_service.get(service)
        return min(m.applied for m in marks) if marks else None

    async def wait(self, wanted: dict[str, int], seconds: float) -> None:
        """Returns once every wanted position this process reads is applied; raises ReadModelBehind after
        ``seconds``."""
        deadline = asyncio.get_running_loop().time() + seconds
        behind: dict[str, int] = {}
        for service, position in wanted.items():
            for marks in self._by_service.get(service, ()):
                if not await marks.wait_for(position, deadline):
                    behind[service] = marks.applied
        if behind:
            raise ReadModelBehind(
                "数据正在同步，请稍后重试 (the read model has not caught up yet)", field=MIN_POSITION_HEADER,
                details={"wanted": wanted, "applied": behind})
