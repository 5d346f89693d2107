"""HTTP routers of the inspection service (under /api/inspection)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .duties import router as duties
    from .routes import router
    from .views import router as views

    return [router, duties, views]
