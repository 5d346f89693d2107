"""The scale benchmark's chart: each hot-path lookup's p99 against the number of machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def chart(runs: list[dict[str, Any]], path: Path) -> Path:
    figure, (lookups, rates) = plt.subplots(1, 2, figsize=(13, 5))
    sizes = [run["size"] for run in runs]
    for name in runs[-1]["lookups"]:
        values = [run["lookups"].get(name, {}).get("p99_ms") for run in runs]
        lookups.plot(sizes, values, marker="o", label=name)
    lookups.set(xscale="log", yscale="log", xlabel="machines", ylabel="p99 (ms)", title="hot-path lookups")
    lookups.axhline(5, color="grey", linestyle="--", linewidth=0.8)
    lookups.legend(fontsize=7)
    for name in runs[-1]["rates"]:
        values = [run["rates"].get(name, {}).get("per_second") for run in runs]
        rates.plot(sizes, values, marker="o", label=name)
    rates.set(xscale="log", yscale="log", xlabel="machines", ylabel="per second", title="rates")
    rates.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
