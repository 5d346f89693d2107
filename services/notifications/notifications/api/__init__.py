"""HTTP routers of the notifications service (under /api/notifications)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .deliveries import router as deliveries
    from .feeds import router as feeds
    from .inbox import router as inbox
    from .personal import router as personal
    from .routes import router

    return [router, inbox, deliveries, feeds, personal]
