"""HTTP routers of the gateway: /api/auth first, then everything else forwarded to its service."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .accounts_admin import router as accounts_admin
    from .audit_accounts import router as audit_accounts
    from .auth import router as auth
    from .proxy import router as proxy
    from .session import router as session
    from .system_clients import router as system_clients
    from .web import router as web

    return [auth, accounts_admin, audit_accounts, system_clients, session, proxy, web]
