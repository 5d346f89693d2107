"""HTTP routers of the registry service (under /api/registry)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .routes import router

    return [router]
