"""Operator commands every service offers: ``python -m <service>.main rebuild <projection>`` and friends."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable

from .audit_cli import COMMANDS as AUDIT_COMMANDS
from .audit_cli import add_audit_commands, run_audit_command
from .logging import configure_logging
from .outbox import Outbox
from .runtime import ServiceRuntime


def run_cli(build_runtime: Callable[[], ServiceRuntime], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Operator commands of this service")
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild = commands.add_parser("rebuild", help="drop a projection and replay it from the event store "
                                    "(projections of another service's events: from its topic)")
    rebuild.add_argument("projection", nargs="?", help="projection name (default: all)")
    commands.add_parser("projections", help="list this service's projections")
    outbox = commands.add_parser("outbox", help="commits the broker refused for good: list, show, re-drive")
    outbox.add_argument("action", choices=["list", "show", "redrive"])
    outbox.add_argument("position", nargs="?", type=int, help="the parked commit's position (show, redrive)")
    add_audit_commands(commands)
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
            if args.command in AUDIT_COMMANDS:
                return await run_audit_command(runtime, args)
            if args.command == "outbox":
                if runtime.store is None:
                    print(f"{runtime.settings.service_name} has no events of its own, so no outbox")
                    return 1
                return await _outbox(Outbox(runtime.store), args.action, args.position)
            names = [args.projection] if args.projection else [p.name for p in runtime.all_projections]
            for name in names:
                last = await runtime.rebuild(name)
                print(f"rebuilt {name} ({last})")
        finally:
            await runtime.stop()
        return 0

    return asyncio.run(run())


async def _outbox(outbox: Outbox, action: str, position: int | None) -> int:
    if action == "list":
        for letter in await outbox.parked():
            print(f"{letter['_id']}\t{letter['stream_id']}@{letter['version']}\t{letter['bytes']} B\t"
                  f"{letter['parked_at'].isoformat()}\t{letter['reason']}")
        return 0
    if position is None:
        print(f"outbox {action} needs the parked commit's position (see: outbox list)")
        return 2
    if action == "show":
        shown = await outbox.show(position)
        if shown is None:
            print(f"no parked commit at position {position}")
            return 1
        commit = shown.pop("commit") or {}
        print(json.dumps({**shown, "events": [{k: e.get(k) for k in ("type", "streamid", "streamversion", "time")}
                                               for e in commit.get("events", [])]}, default=str, indent=2,
                         ensure_ascii=False))
        return 0
    try:
        moved = await outbox.redrive(position)
    except LookupError as exc:
        print(exc)
        return 1
    print(f"re-driven: {moved} commit(s) of the stream are back in line for the relay")
    return 0
