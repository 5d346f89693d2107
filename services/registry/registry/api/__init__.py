"""HTTP routers of the registry service (under /api/registry)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .audit import router as audit
    from .personal import router as personal
    from .routes import router

    return [audit, router, personal]
