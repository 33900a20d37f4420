"""The MDM service's errors: one hierarchy, rendered to the wire by one handler (``mdm.api.errors``).

Each error carries its HTTP status, a stable ``code`` clients branch on, a message for people and the
``target`` field it is about. Domain errors (``mdm.domain.errors``) are translated in the same handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str
    target: str | None = None


class MdmError(Exception):
    status_code = 400
    code = "badRequest"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        code: str | None = None,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        if code is not None:
            self.code = code
        self.details = tuple(details)
        self.headers = headers or {}


class BadRequest(MdmError):
    pass


class Unauthenticated(MdmError):
    status_code = 401
    code = "unauthenticated"

    def __init__(self, message: str, *, code: str | None = None, target: str | None = None) -> None:
        super().__init__(message, code=code, target=target, headers={"WWW-Authenticate": 'Bearer realm="mdm"'})


class Forbidden(MdmError):
    status_code = 403
    code = "forbidden"


class NotFound(MdmError):
    status_code = 404
    code = "notFound"


class Conflict(MdmError):
    status_code = 409
    code = "conflict"


class FeedPositionExpired(MdmError):
    """The consumer asked for entries that retention already removed: it must resynchronise."""

    status_code = 410
    code = "feedPositionExpired"


class OAuthError(MdmError):
    """Errors of the token endpoint, in RFC 6749 shape (``error``, ``error_description``)."""

    status_code = 400
    code = "invalid_request"

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description, code=error)
        self.status_code = status_code
