"""Composition root of the gateway: identity (accounts, SMS codes, tokens) and the single entry point.

Serve:    uvicorn gateway.main:create_app --factory --port 8000
Operate:  python -m gateway.main create-admin --username U   (password: prompt or NRMM_BOOTSTRAP_ADMIN_PASSWORD)
          python -m gateway.main migrate-accounts               (creation events for accounts made before #22)
          python -m gateway.main rebuild [projection]
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from pathlib import Path

import httpx
from fastapi import FastAPI

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.cli import run_cli
from nrmm_kernel.errors import AppError
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.http import create_service_app
from nrmm_kernel.logging import get_logger
from nrmm_kernel.runtime import ServiceRuntime, mongo_client
from nrmm_kernel.store_api import StreamStore

from .api import routers
from .app.erasure import ErasureWorker, PersonErasures
from .app.identity import Identity, build_identity
from .app.messages import NotificationsClient
from .app.migration import migrate_accounts
from .app.system_clients import SystemClients
from .domain.events import registry
from .projections.accounts import AccountViews
from .projections.revocations import revocation_projections
from .settings import Settings

DEFAULT_PORT = 8000
# the database deploy/run.sh (make run) starts or reaches: a replica set of one under Docker, hence directConnection
MAKE_RUN_DATABASE = "mongodb://127.0.0.1:27017/?directConnection=true"
HOUSEKEEPING_SECONDS = 600  # expired SMS codes, login attempts, spent refresh tokens are purged this often
log = get_logger("gateway")


class GatewayRuntime(ServiceRuntime):
    """The kernel's runtime, plus what the gateway holds open: the upstream HTTP client and housekeeping."""

    def __init__(self, settings: Settings):
        # the accounts' views and revocations from its own topic; erasures of people from the registry's
        super().__init__(settings, registry, [AccountViews(), *revocation_projections()],
                         foreign={"registry": [PersonErasures()]})
        self.closing: list = []  # async callables run at stop, before the database closes

    async def stop(self) -> None:
        for close in reversed(self.closing):
            try:
                await close()
            except Exception:  # noqa: BLE001 - stopping goes on
                log.exception("gateway.stop_failed")
        await super().stop()


def build_runtime(settings: Settings | None = None) -> ServiceRuntime:
    return GatewayRuntime(settings or Settings())


async def housekeeping(identity: Identity) -> None:
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await identity.purge_expired()
        except Exception:  # noqa: BLE001 - next round
            log.exception("housekeeping.failed")


def make_identity(db, settings: Settings, verifier: TokenVerifier, events: StreamStore) -> Identity:
    return build_identity(db, verifier, settings, NotificationsClient(settings.notifications_url, verifier),
                          events=events)


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings: Settings = runtime.settings
    app.state.identity = make_identity(runtime.db, settings, app.state.token_verifier, runtime.store)
    await app.state.identity.ensure_indexes()
    if runtime.run_background:
        erasures = ErasureWorker(runtime.db, app.state.identity.accounts.store)
        runtime.supervise("erasures", erasures.run, health=erasures.health)
    app.state.system_clients = SystemClients(runtime.db, app.state.token_verifier, settings.access_token_minutes)
    await app.state.system_clients.ensure_indexes()
    if settings.bootstrap_admin_username and settings.bootstrap_admin_password:
        try:
            if await app.state.identity.accounts.bootstrap_admin(settings.bootstrap_admin_username,
                                                        settings.bootstrap_admin_password):
                log.info("bootstrap.admin_created", username=settings.bootstrap_admin_username)
        except AppError as refused:  # a weak password, say: the gateway serves on, without that administrator
            log.error("bootstrap.admin_refused", username=settings.bootstrap_admin_username, code=refused.code,
                      field=refused.field, reason=refused.message)
    app.state.upstream = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0),
                                           limits=httpx.Limits(max_connections=200), follow_redirects=False)
    runtime.closing.append(app.state.upstream.aclose)
    task = asyncio.create_task(housekeeping(app.state.identity), name="housekeeping")

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    runtime.closing.append(cancel)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        on_start=wire,
        title="Gateway (统一入口与身份认证)",
        description="Accounts, SMS verification codes, OAuth2 tokens; one base URL for the mini-program and "
        "the console, forwarding /api/registry, /api/sites, /api/inspection and /api/notifications.",
        runtime=build_runtime(settings),
        routers=routers(),
    )
    return app


def create_admin(argv: list[str]) -> int:
    """python -m gateway.main create-admin --username U: the first administrator (city level, ecology bureau), in
    the database ``make run`` uses (NRMM_MONGODB_URL, NRMM_NAMESPACE: the same defaults). Exit 0: made or there
    already; 1: the database cannot be reached or no password was given; 2: the password or username is refused."""
    import argparse

    from pymongo.errors import PyMongoError

    parser = argparse.ArgumentParser(prog="gateway.main create-admin")
    parser.add_argument("--username", required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    if "NRMM_MONGODB_URL" not in os.environ:  # where make run puts it, natively (FerretDB) and with Docker alike
        settings = settings.model_copy(update={"mongodb_url": MAKE_RUN_DATABASE})
    where = f"database {settings.database_name} at {settings.mongodb_url}"
    settings = with_lookup_secret(settings)
    if settings.account_lookup_secret is None:
        print(NO_SECRET, file=sys.stderr)
        return 1
    password = os.environ.get("NRMM_BOOTSTRAP_ADMIN_PASSWORD")
    if not password:
        try:
            password = getpass.getpass("password (at least 10 characters, hard to guess): ")
        except (EOFError, KeyboardInterrupt):
            password = ""
    if not password:
        print("no password: type one at the prompt, or set NRMM_BOOTSTRAP_ADMIN_PASSWORD", file=sys.stderr)
        return 1

    async def run() -> int:
        client = mongo_client(settings.mongodb_url)
        try:
            db = client[settings.database_name]
            await client.admin.command("ping")
            if "account_views" not in await db.list_collection_names():
                print(f"note: no gateway has run on {where} yet; if the platform runs elsewhere, set "
                      "NRMM_MONGODB_URL and NRMM_NAMESPACE as it was started with", file=sys.stderr)
            # no token is minted here; the key only satisfies the constructor
            verifier = TokenVerifier(settings.jwt_secret or "unused" * 8, issuer=settings.jwt_issuer,
                                     audience=settings.jwt_audience)
            store = EventStore(db, max_commit_bytes=settings.max_commit_bytes)
            await store.ensure_indexes()
            identity = make_identity(db, settings, verifier, store)
            await identity.ensure_indexes()
            try:
                created = await identity.accounts.bootstrap_admin(args.username, password)
            except AppError as refused:
                print(f"refused: {refused.message} ({refused.code}, {refused.field})", file=sys.stderr)
                return 2
            print(f"administrator {args.username} {'created' if created else 'exists already'} in {where}")
            return 0
        except PyMongoError as exc:
            print(f"cannot reach {where} ({type(exc).__name__}): start the platform first (make run), or set "
                  "NRMM_MONGODB_URL (and NRMM_NAMESPACE) to the database it was started with", file=sys.stderr)
            return 1
        finally:
            await client.close()

    return asyncio.run(run())


NO_SECRET = ("no key for account lookups: set NRMM_ACCOUNT_LOOKUP_SECRET or NRMM_JWT_SECRET as the gateway runs "
             "with (make run keeps it in var/jwt-secret, NRMM_VAR_DIR moves var/)")


def with_lookup_secret(settings: Settings) -> Settings:
    """The key of login lookups, as the running gateway has it: its settings, else the key make run keeps."""
    secret = settings.account_lookup_secret or settings.jwt_secret
    if not secret:
        path = Path(os.environ.get("NRMM_VAR_DIR") or Path(__file__).resolve().parents[3] / "var") / "jwt-secret"
        secret = path.read_text().strip() if path.is_file() else None
    return settings.model_copy(update={"account_lookup_secret": secret})


def migrate(argv: list[str]) -> int:
    """python -m gateway.main migrate-accounts: creation events for accounts kept as plain documents before #22
    (app/migration.py). Idempotent. Exit 0: done (written and present counted); 1: the database cannot be reached
    or no lookup key; 2: some documents could not be migrated (listed)."""
    from pymongo.errors import PyMongoError

    settings = with_lookup_secret(Settings())
    if settings.account_lookup_secret is None:
        print(NO_SECRET, file=sys.stderr)
        return 1

    async def run() -> int:
        client = mongo_client(settings.mongodb_url)
        try:
            db = client[settings.database_name]
            store = EventStore(db, max_commit_bytes=settings.max_commit_bytes)
            await store.ensure_indexes()
            verifier = TokenVerifier(settings.jwt_secret or "unused" * 8, issuer=settings.jwt_issuer,
                                     audience=settings.jwt_audience)
            identity = make_identity(db, settings, verifier, store)
            await identity.ensure_indexes()
            done = await migrate_accounts(db, identity.accounts.store)
        except PyMongoError as exc:
            print(f"cannot reach database {settings.database_name} at {settings.mongodb_url} "
                  f"({type(exc).__name__})", file=sys.stderr)
            return 1
        finally:
            await client.close()
        print(f"accounts migrated: {done.written} written, {done.present} already events, {len(done.failed)} failed")
        for account_id in done.failed:
            print(f"failed: {account_id}", file=sys.stderr)
        return 2 if done.failed else 0

    return asyncio.run(run())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "create-admin":
        sys.exit(create_admin(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "migrate-accounts":
        sys.exit(migrate(sys.argv[2:]))
    sys.exit(run_cli(build_runtime))
