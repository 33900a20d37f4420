"""Graph's error vocabulary: one exception type, rendered to the wire by one handler.

Shape (learn.microsoft.com/graph/errors):
``{"error": {"code": "...", "message": "...", "innerError": {"date", "request-id", "client-request-id"}}}``.
Clients branch on ``code``; ``message`` is for people.
"""

from __future__ import annotations


class GraphError(Exception):
    """An error Graph would return: HTTP status, Graph error code and a message naming the problem."""

    def __init__(self, status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(message: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", message)


def access_denied(message: str = "Insufficient privileges to complete the operation.") -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", message)


def too_many_requests(message: str, *, retry_after: int | None, headers: dict[str, str] | None = None) -> GraphError:
    """429 as Graph sends it; ``retry_after=None`` for the APIs documented to send no Retry-After."""
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    return GraphError(429, "TooManyRequests", message, headers=all_headers)


def error_body(error: GraphError) -> dict[str, dict[str, str]]:
    """The JSON body of an error without innerError (the exception handler adds date and request ids)."""
    return {"error": {"code": error.code, "message": error.message}}
