"""One error model for the whole platform: a stable code, a message a person can read, the field at fault."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 status: int | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class ConcurrencyError(Conflict):
    """The stream moved on since the caller read it (expected-version append lost)."""

    code = "concurrent_modification"

    def __init__(self, stream_id: str, expected: int, actual: int | None = None):
        super().__init__(
            "记录已被他人修改，请刷新后重试 (stream changed concurrently)",
            details={"stream_id": stream_id, "expected_version": expected, "actual_version": actual},
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
