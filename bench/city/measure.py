"""Figures of one size of the city: rates, lookup latencies and notes, printed as they come and kept for JSON."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Figures:
    def __init__(self, size: int):
        self.size = size
        self.rates: dict[str, dict[str, Any]] = {}
        self.lookups: dict[str, dict[str, float]] = {}
        self.latencies: dict[str, dict[str, float]] = {}
        self.notes: dict[str, Any] = {}

    def rate(self, label: str, count: int, seconds: float, unit: str) -> None:
        per_second = count / seconds if seconds else 0.0
        self.rates[label] = {"count": count, "seconds": round(seconds, 3), "per_second": round(per_second, 1),
                             "unit": unit}
        print(f"{label:<52} {count:>9} {unit:<8} in {seconds:8.2f} s = {per_second:9.0f} {unit}/s", flush=True)

    def latency(self, label: str, samples_ms: Sequence[float], failures: int = 0, **extra: Any) -> None:
        cuts = statistics.quantiles(samples_ms, n=100) if len(samples_ms) > 1 else [samples_ms[0]] * 99
        self.latencies[label] = {"p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2),
                                 "max_ms": round(max(samples_ms), 2), "n": len(samples_ms), "failures": failures,
                                 **extra}
        print(f"{label:<52} p50 {cuts[49]:8.2f} ms  p99 {cuts[98]:8.2f} ms  max {max(samples_ms):8.2f} ms  "
              f"n {len(samples_ms)}  failures {failures} {extra or ''}", flush=True)

    def note(self, label: str, value: Any, detail: str = "") -> None:
        self.notes[label] = value
        print(f"{label:<52} {value} {detail}", flush=True)

    def as_dict(self) -> dict[str, Any]:
        return {"size": self.size, "rates": self.rates, "lookups": self.lookups, "latencies": self.latencies,
                "notes": self.notes}


async def timed_lookups(figures: Figures, label: str, items: Sequence[Any],
                        lookup: Callable[[Any], Awaitable[Any]]) -> None:
    """One lookup after another (a request's path is sequential): p50 and p99 in ms."""
    if not items:
        return
    await lookup(items[0])  # warm: a first query prepares its statement
    samples = []
    for item in items:
        began = time.perf_counter()
        await lookup(item)
        samples.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(samples, n=100) if len(samples) > 1 else [samples[0]] * 99
    figures.lookups[label] = {"p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2), "n": len(samples)}
    print(f"lookup: {label:<44} p50 {cuts[49]:7.2f} ms  p99 {cuts[98]:7.2f} ms  (n {len(samples)})", flush=True)
