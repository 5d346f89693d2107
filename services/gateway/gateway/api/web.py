"""The mini-program's pages (web/, built by Vite) served at /m/ with a strict Content-Security-Policy.

A path with a file (``/m/assets/index-abc.js``) is that file; any other path under /m/ is the single-page app's
``index.html`` (the router decides the page). Nothing outside the build directory is ever served."""

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
<p>移动端页面尚未构建：请在 web/ 目录运行 npm ci &amp;&amp; npm run build（make run 会自动构建）。</p></html>"""


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


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/m/", status_code=307)


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
