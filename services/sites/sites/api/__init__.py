"""HTTP routers of the sites service (under /api/sites)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .audit import router as audit
    from .governance import router as governance
    from .routes import router

    return [audit, router, governance]
