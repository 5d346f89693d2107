"""Operator commands every service offers: ``python -m <service>.main rebuild <projection>`` and friends."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from .logging import configure_logging
from .runtime import ServiceRuntime


def run_cli(build_runtime: Callable[[], ServiceRuntime], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Operator commands of this service")
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild = commands.add_parser("rebuild", help="drop a projection and replay it from the event store "
                                    "(projections of another service's events: from its topic)")
    rebuild.add_argument("projection", nargs="?", help="projection name (default: all)")
    commands.add_parser("projections", help="list this service's projections")
    args = parser.parse_args(argv)

    async def run() -> int:
        runtime = build_runtime()
        configure_logging(runtime.settings.log_level, runtime.settings.log_json, runtime.settings.service_name)
        runtime.run_background = False
        if args.command == "projections":
            for p in runtime.all_projections:
                print(p.name)
            return 0
        await runtime.start()
        try:
            names = [args.projection] if args.projection else [p.name for p in runtime.all_projections]
            for name in names:
                last = await runtime.rebuild(name)
                print(f"rebuilt {name} ({last})")
        finally:
            await runtime.stop()
        return 0

    return asyncio.run(run())
