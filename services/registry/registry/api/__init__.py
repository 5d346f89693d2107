"""HTTP routers of the registry service (under /api/registry)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .personal import router as personal
    from .routes import router

    return [router, personal]
