"""HTTP routers of the gateway: /api/auth first, then everything else forwarded to its service."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .accounts_admin import router as accounts_admin
    from .audit import accounts as audit_store
    from .audit import router as audit
    from .audit_accounts import router as audit_accounts
    from .auth import router as auth
    from .proxy import router as proxy
    from .session import router as session
    from .system_clients import router as system_clients
    from .web import router as web

    # an account's history (#22) before the audit API's catch-all /api/audit/{service}/{path}
    return [auth, accounts_admin, system_clients, session, audit_accounts, audit_store, audit, proxy, web]
