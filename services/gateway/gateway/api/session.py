"""/api/auth/session: the browser's sign-in. The access token goes to the page (kept in memory); the refresh
token never does: it lives in an HttpOnly, SameSite=Strict cookie scoped to this path, Secure except on
loopback over plain HTTP (development).

Cross-site request forgery on the refresh and sign-out is refused three ways: the cookie is SameSite=Strict;
an ``Origin`` (when the browser sends one) must be the gateway's own or a configured CORS origin; and the
request must carry ``X-CSRF-Token`` equal to a keyed hash of the refresh token, which the page reads from
the (not HttpOnly) ``nrmm_csrf`` cookie: another site can neither read that cookie nor compute the hash."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from nrmm_kernel.errors import Forbidden, Unauthenticated

from .auth import PasswordForm, client_address, sessions
from .limits import SmallBodyRoute

router = APIRouter(prefix="/api/auth/session", tags=["auth"], route_class=SmallBodyRoute)
PATH = "/api/auth/session"
REFRESH_COOKIE, CSRF_COOKIE, CSRF_HEADER = "nrmm_refresh", "nrmm_csrf", "x-csrf-token"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def csrf_for(request: Request, refresh_token: str) -> str:
    key = request.app.state.runtime.settings.jwt_secret.encode()
    return hmac.new(key, b"csrf:" + refresh_token.encode(), hashlib.sha256).hexdigest()[:40]


def _secure(request: Request) -> bool:
    """Secure cookies, except for development on loopback over plain HTTP (a browser would not send them)."""
    return not (request.url.scheme == "http" and request.url.hostname in LOOPBACK)


def _set_cookies(request: Request, response: Response, issued: dict) -> dict:
    refresh = issued.pop("refresh_token")
    age = request.app.state.runtime.settings.refresh_token_days * 86400
    secure = _secure(request)
    response.set_cookie(REFRESH_COOKIE, refresh, max_age=age, path=PATH, httponly=True, secure=secure,
                        samesite="strict")
    # readable by the page (its value is useless without the HttpOnly cookie it is bound to)
    response.set_cookie(CSRF_COOKIE, csrf_for(request, refresh), max_age=age, path="/", httponly=False,
                        secure=secure, samesite="strict")
    return issued


def _clear_cookies(request: Request, response: Response) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=PATH, httponly=True, secure=_secure(request), samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=_secure(request), samesite="strict")


def _checked_refresh_token(request: Request) -> str:
    """The cookie's refresh token, once the request has shown it comes from the UI itself."""
    origin = request.headers.get("origin")
    # the page's own origin: the host it asked (behind a TLS proxy the scheme seen here may differ)
    own = urlsplit(origin).netloc == request.headers.get("host") if origin else True
    if not own and origin not in request.app.state.runtime.settings.cors_origins:
        raise Forbidden("请求来源不被允许 (cross-site request refused)", code="csrf_origin")
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        raise Unauthenticated("登录已过期，请重新登录 (no session)", code="no_session")
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_for(request, refresh).encode()):
        raise Forbidden("请求校验失败，请刷新页面后重试 (CSRF token missing or wrong)", code="csrf_failed")
    return refresh


@router.post("", summary="Browser sign-in: the access token; the refresh token in an HttpOnly cookie")
async def sign_in(request: Request, response: Response, form: PasswordForm = Depends()):
    issued = await sessions(request).login(form.username, form.password, client_address(request))
    return _set_cookies(request, response, issued)


@router.post("/refresh", summary="Browser: a new access token from the session cookie (X-CSRF-Token required)")
async def refresh(request: Request, response: Response):
    refresh_token = _checked_refresh_token(request)
    try:
        issued = await sessions(request).refresh(refresh_token)
    except Unauthenticated as ended:  # expired or revoked: the page signs in again, without stale cookies
        answer = JSONResponse(status_code=ended.status, content=ended.to_dict())
        _clear_cookies(request, answer)
        return answer
    return _set_cookies(request, response, issued)


@router.post("/logout", status_code=204, summary="Browser sign-out: the session ends, the cookies are cleared")
async def sign_out(request: Request):
    refresh_token = _checked_refresh_token(request)
    await sessions(request).logout(refresh_token)
    response = Response(status_code=204)
    _clear_cookies(request, response)
    return response
