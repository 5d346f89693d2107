"""HTTP routers of the gateway: /api/auth first, then everything else forwarded to its service."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .audit import accounts as audit_accounts
    from .audit import router as audit
    from .auth import router as auth
    from .proxy import router as proxy
    from .session import router as session
    from .system_clients import router as system_clients
    from .web import router as web

    return [auth, system_clients, session, audit_accounts, audit, proxy, web]
