"""Composition root of the gateway: identity (accounts, SMS codes, tokens) and the single entry point.

Serve:    uvicorn gateway.main:create_app --factory --port 8000
Operate:  python -m gateway.main create-admin --username U   (password: prompt or NRMM_BOOTSTRAP_ADMIN_PASSWORD)
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys

import httpx
from fastapi import FastAPI

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.cli import run_cli
from nrmm_kernel.errors import AppError
from nrmm_kernel.http import create_service_app
from nrmm_kernel.logging import get_logger
from nrmm_kernel.runtime import ServiceRuntime, mongo_client

from .api import routers
from .app.identity import Identity
from .app.messages import NotificationsClient
from .app.system_clients import SystemClients
from .domain.events import registry
from .settings import Settings

DEFAULT_PORT = 8000
HOUSEKEEPING_SECONDS = 600  # expired SMS codes, login attempts, spent refresh tokens are purged this often
log = get_logger("gateway")


class GatewayRuntime(ServiceRuntime):
    """The kernel's runtime, plus what the gateway holds open: the upstream HTTP client and housekeeping."""

    def __init__(self, settings: Settings):
        super().__init__(settings, registry)
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


def make_identity(db, settings: Settings, verifier: TokenVerifier) -> Identity:
    return Identity(db, verifier, settings, NotificationsClient(settings.notifications_url, verifier))


async def wire(app: FastAPI) -> None:
    runtime = app.state.runtime
    settings: Settings = runtime.settings
    app.state.identity = make_identity(runtime.db, settings, app.state.token_verifier)
    await app.state.identity.ensure_indexes()
    app.state.system_clients = SystemClients(runtime.db, app.state.token_verifier, settings.access_token_minutes)
    await app.state.system_clients.ensure_indexes()
    if settings.bootstrap_admin_username and settings.bootstrap_admin_password:
        try:
            if await app.state.identity.bootstrap_admin(settings.bootstrap_admin_username,
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
    """python -m gateway.main create-admin --username U"""
    import argparse

    parser = argparse.ArgumentParser(prog="gateway.main create-admin")
    parser.add_argument("--username", required=True)
    args = parser.parse_args(argv)
    password = os.environ.get("NRMM_BOOTSTRAP_ADMIN_PASSWORD") or getpass.getpass("password: ")
    settings = Settings()

    async def run() -> int:
        client = mongo_client(settings.mongodb_url)
        try:
            # no token is minted here; the key only satisfies the constructor
            verifier = TokenVerifier(settings.jwt_secret or "unused" * 8, issuer=settings.jwt_issuer,
                                     audience=settings.jwt_audience)
            identity = make_identity(client[settings.database_name], settings, verifier)
            await identity.ensure_indexes()
            try:
                created = await identity.bootstrap_admin(args.username, password)
            except AppError as refused:
                print(f"refused: {refused.message} ({refused.code}, {refused.field})", file=sys.stderr)
                return 2
            print(f"administrator {args.username} {'created' if created else 'exists already'} "
                  f"in database {settings.database_name}")
            return 0
        finally:
            await client.close()

    return asyncio.run(run())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "create-admin":
        sys.exit(create_admin(sys.argv[2:]))
    sys.exit(run_cli(build_runtime))
