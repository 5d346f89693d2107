"""What every request must be before any route sees it: no larger than the service's limit, and free of control
characters (NUL and the C0 controls other than tab, newline and carriage return) in its path, its query and its
JSON or form fields.

A NUL reaches PostgreSQL (under FerretDB) as an error halfway through a command: the database refuses it after
other writes were made (a machine's identity claim, an SMS code spent, an account made). So such input is refused
here, with 422 ``control_character`` and the field, before anything is read or written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_REQUEST_BYTES = 12 * 1024 * 1024
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline and carriage return are text


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def control_in(value: object, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in a parsed JSON value holding a control character."""
    if isinstance(value, str):
        return (path or "body") if has_control(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if has_control(str(key)):
                return where
            found = control_in(item, where)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = control_in(item, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    return iter(parse_qsl(text, keep_blank_values=True))


def control_in_form(text: str) -> str | None:
    for name, value in _pairs(text):
        if has_control(name) or has_control(value):
            return name if not has_control(name) else "query"
    return None


def refusal(status: int, code: str, message: str, field: str | None, **details: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        body["details"] = details
    return JSONResponse(status_code=status, content=body)


def control_refusal(field: str) -> JSONResponse:
    return refusal(422, "control_character", "请求含有不允许的控制字符 (control characters are not allowed)", field)


def too_large(limit: int) -> JSONResponse:
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return refusal(413, "request_too_large", f"请求超过 {size} (request too large)", None, limit_bytes=limit)


class RequestGuard:
    """ASGI middleware: the size limit (413 ``request_too_large``, by the declared length and by the bytes that
    arrive) and the control-character check (422 ``control_character``). The body is read whole (it is bounded)
    and handed on unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if has_control(scope.get("path", "")):
            await control_refusal("path")(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        field = control_in_form(query)
        if field is not None:
            await control_refusal(field)(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(self.max_bytes)(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large(self.max_bytes)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        field = self._control_in_body(headers.get("content-type", ""), body)
        if field is not None:
            await control_refusal(field)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    @staticmethod
    def _control_in_body(content_type: str, body: bytes) -> str | None:
        kind = content_type.split(";", 1)[0].strip().lower()
        if not body:
            return None
        if kind == "application/json" or kind.endswith("+json"):
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return None  # not JSON: the route's own validation answers
            return control_in(parsed)
        if kind == "application/x-www-form-urlencoded":
            try:
                return control_in_form(body.decode("utf-8"))
            except UnicodeDecodeError:
                return None
        return None
