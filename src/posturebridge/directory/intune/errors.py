"""Errors of the Intune partner endpoints, rendered by one handler.

Microsoft's partner API is not public; its responses carry OData v3 annotations (``odata.metadata``,
partner-compliance-wire.md §3), so errors use the OData v3 JSON error shape
``{"odata.error": {"code", "message": {"lang", "value"}}}`` (inferred).
"""

from __future__ import annotations

from typing import Any


class IntuneError(Exception):
    """A refused partner call: HTTP status, a short code and a message saying exactly what is wrong."""

    def __init__(self, status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"odata.error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}


def unauthorized(message: str) -> IntuneError:
    return IntuneError(401, "Unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> IntuneError:
    return IntuneError(403, "Forbidden", message)


def bad_request(message: str) -> IntuneError:
    return IntuneError(400, "BadRequest", message)


def not_found(message: str) -> IntuneError:
    return IntuneError(404, "ResourceNotFound", message)


def conflict(message: str) -> IntuneError:
    return IntuneError(409, "Conflict", message)
