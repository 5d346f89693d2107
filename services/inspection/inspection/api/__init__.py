"""HTTP routers of the inspection service (under /api/inspection)."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from .audit import router as audit
    from .duties import router as duties
    from .routes import router
    from .sharing import router as sharing
    from .views import router as views

    return [audit, router, duties, views, sharing]
