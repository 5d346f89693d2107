"""HTTP routers of the sites service (under /api/sites)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .routes import router

    return [router]
