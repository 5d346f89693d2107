"""The front end (web/, built by Vite) with a strict Content-Security-Policy: the mini-program's pages at /m/, the
PC console at / (rule F1).

A path with a file (``/m/assets/index-abc.js``) is that file; any other path under /m/ is the mini-program's
``index.html`` (its router decides the page). The console is ``console.html`` at ``/`` and under its own sections
only (``/review/...``, ``/sites/...``): every other path stays the gateway's (the API, the docs, a 404). Both pages
load their assets from /m/assets/. Nothing outside the build directory is ever served."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

router = APIRouter(tags=["web"], include_in_schema=False)

# the UI's own origin only: no inline script, no eval, no plugin, no framing; the camera's stream and the
# compressed photos are blob: URLs, the card's QR code a data: image
CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:", "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:",
    "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY", "Permissions-Policy": "camera=(self), microphone=(), geolocation=(self)",
}
MISSING = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面未构建</title>
<p>网页尚未构建：请在 web/ 目录运行 npm ci &amp;&amp; npm run build（make run 会自动构建）。</p></html>"""


def _dist(request: Request) -> Path:
    return Path(request.app.state.runtime.settings.web_dist).resolve()


def _file(request: Request, target: Path, media_type: str | None = None) -> FileResponse:
    """The file, or its gzipped twin (written by the build) for a browser that accepts gzip."""
    twin = target.with_name(target.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and twin.is_file():
        guessed = media_type or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        response = FileResponse(twin, media_type=guessed)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = FileResponse(target, media_type=media_type)
    response.headers["Vary"] = "Accept-Encoding"
    return response


def _secured(response: Response, *, immutable: bool = False) -> Response:
    response.headers.update(SECURITY_HEADERS)
    # hashed asset names never change; the page itself is always asked for again
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return response


@router.get("/m")
async def bare() -> Response:
    return RedirectResponse("/m/", status_code=308)


# the console's router paths (web/src/console/router.ts): a deep link or a reload there is the console's page
CONSOLE_SECTIONS = ("login", "review", "machines", "sites", "zones", "staff", "inbox", "inspection", "views",
                    "feeds", "audit")


async def console(request: Request) -> Response:
    index = _dist(request) / "console.html"
    if not index.is_file():
        return _secured(HTMLResponse(MISSING, status_code=503))
    return _secured(_file(request, index, "text/html; charset=utf-8"))


router.add_api_route("/", console, methods=["GET", "HEAD"])
for _section in CONSOLE_SECTIONS:
    router.add_api_route(f"/{_section}", console, methods=["GET", "HEAD"])
    router.add_api_route(f"/{_section}/{{rest:path}}", console, methods=["GET", "HEAD"])


@router.api_route("/m/{path:path}", methods=["GET", "HEAD"])
async def page(path: str, request: Request) -> Response:
    dist = _dist(request)
    index = dist / "index.html"
    if path and "." in path.rsplit("/", 1)[-1]:
        target = (dist / path).resolve()
        if dist not in target.parents or not target.is_file():
            return _secured(Response("未找到 (not found)", status_code=404, media_type="text/plain; charset=utf-8"))
        return _secured(_file(request, target), immutable=path.startswith("assets/"))
    if not index.is_file():
        return _secured(HTMLResponse(MISSING, status_code=503))
    return _secured(_file(request, index, "text/html; charset=utf-8"))
