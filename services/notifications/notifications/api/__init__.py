"""HTTP routers of the notifications service (under /api/notifications)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .routes import router

    return [router]
