"""The auditor's operator commands every service with events offers (wired into cli.py):

  verify                      check the store's chains and checkpoints; names the first broken link (exit 1)
  chain                       one-off: give a store written before the store chain its chain
  checkpoint                  take a checkpoint now (as the supervised runner does at intervals)
  export [--since T] [--until T] [--stream S ...] [--out FILE]      CloudEvents JSON Lines with hashes
  import FILE                 into this namespace's (fresh) store, then replay its projections
  digest                      a digest per projection (equal after an import)
  as-of PROJECTION --at T [--where field=value ...]   the projection as it stood at T, rebuilt into a scratch
                              collection, printed, then dropped
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tqdm import tqdm

from .audit_asof import projection_as_of
from .audit_export import (
    ImportRefused,
    commits_between,
    commits_of_streams,
    digest,
    export_lines,
    import_commits,
    read_commits,
)
from .audit_time import last_position_at, parse_time
from .audit_verify import verify
from .chain import backfill
from .checkpoints import checkpoint_topic, read_checkpoints
from .errors import AppError
from .runtime import ServiceRuntime

COMMANDS = ("verify", "chain", "checkpoint", "export", "import", "digest", "as-of")


def add_audit_commands(commands: Any) -> None:
    verify_cmd = commands.add_parser("verify", help="verify the store's hash chains and checkpoints")
    verify_cmd.add_argument("--no-topic", action="store_true", help="skip the checkpoint topic (store only)")
    commands.add_parser("chain", help="one-off: give the commits written before the store chain their chain")
    commands.add_parser("checkpoint", help="publish and record the store chain's head now")
    export = commands.add_parser("export", help="CloudEvents JSON Lines with hashes")
    export.add_argument("--since", help="ISO time with offset (default: the first commit)")
    export.add_argument("--until", help="ISO time with offset (default: the last commit)")
    export.add_argument("--stream", action="append", default=[], help="a stream id (repeatable)")
    export.add_argument("--out", help="file to write (default: standard output)")
    imported = commands.add_parser("import", help="import an export into this namespace's fresh store")
    imported.add_argument("file")
    commands.add_parser("digest", help="a digest of each projection this store feeds")
    as_of = commands.add_parser("as-of", help="a projection as it stood at a time (scratch, dropped after)")
    as_of.add_argument("projection")
    as_of.add_argument("--at", required=True, help="ISO time with offset, e.g. 2026-11-01T00:00:00+08:00")
    as_of.add_argument("--where", action="append", default=[], help="field=value filter on the printed documents")


async def run_audit_command(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    store = runtime.store
    if store is None:
        print(f"{runtime.settings.service_name} has no events of its own, so nothing to audit")
        return 1
    try:
        if args.command == "verify":
            external = {} if args.no_topic else await read_checkpoints(
                runtime.settings.kafka_bootstrap, checkpoint_topic(runtime.settings.namespace),
                runtime.settings.service_name)
            bar = tqdm(total=await store.head_position(), desc="verify", unit="commit", file=sys.stderr)
            report = await verify(store, external_checkpoints=external, progress=lambda p: bar.update(p - bar.n))
            bar.close()
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
            return 0 if report.ok else 1
        if args.command == "chain":
            bar = tqdm(total=await store.head_position(), desc="chain", unit="commit", file=sys.stderr)
            changed = await backfill(store.collection, progress=lambda p: bar.update(p - bar.n))
            bar.close()
            print(f"chained {changed} commit(s)")
            return 0
        if args.command == "checkpoint":
            assert runtime.checkpoints is not None
            print(json.dumps(await runtime.checkpoints.checkpoint()))
            return 0
        if args.command == "export":
            return await _export(runtime, args)
        if args.command == "import":
            return await _import(runtime, args.file)
        if args.command == "digest":
            for projection in runtime.projections:
                value, count = await digest(runtime.db[projection.name])
                print(f"{projection.name}\t{count}\t{value}")
            return 0
        where = dict(item.split("=", 1) for item in args.where if "=" in item)
        at = parse_time(args.at, "at")
        assert at is not None
        async for doc in projection_as_of(runtime, args.projection, at, where=where, progress=True):
            print(json.dumps(doc, ensure_ascii=False, default=str))
        return 0
    except AppError as exc:
        print(f"{exc.code}: {exc} ({exc.field})", file=sys.stderr)
        return 2


async def _export(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    store = runtime.store
    assert store is not None
    if args.stream:
        commits = commits_of_streams(store, args.stream)
    else:
        head = await store.head_position()
        since, until = parse_time(args.since, "since"), parse_time(args.until, "until")
        first = await last_position_at(store, since, head) + 1 if since else 1
        last = await last_position_at(store, until, head) if until else head
        commits = commits_between(store, first, last)
    # an operator command, one file: blocking writes are what it does
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115, ASYNC230
    lines = 0
    try:
        async for line in export_lines(commits):
            out.write(line)
            lines += 1
    finally:
        if args.out:
            out.close()
    print(f"exported {lines} event(s)", file=sys.stderr)
    return 0


async def _import(runtime: ServiceRuntime, path: str) -> int:
    store = runtime.store
    assert store is not None
    if await store.head_position() != 0:
        print(f"the store of namespace {runtime.settings.namespace} is not empty: import into a fresh namespace "
              f"(NRMM_NAMESPACE=...)", file=sys.stderr)
        return 2
    try:
        with open(path, encoding="utf-8") as lines:  # noqa: ASYNC230 - an operator command, one file
            count = await import_commits(store, read_commits(lines))
    except ImportRefused as exc:
        print(f"import refused: {exc}", file=sys.stderr)
        return 1
    print(f"imported {count} commit(s)")
    for projection in runtime.projections:
        if runtime.subscribe_to == [runtime.settings.topic]:
            await runtime.rebuild(projection.name)
    return 0
