"""The one translation point from errors to the wire: ``{"error": {code, message, target, details}}``.

Service errors (``MdmError``) carry their status; domain errors are mapped here; request validation
errors name the field; anything unexpected is logged and answered with a JSON 500, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from posturebridge.mdm.domain import (
    ImmutableIdInvalidError,
    ImmutableIdMissingError,
    InvalidOsVersionError,
    MdmDomainError,
    SampleFromTheFutureError,
    SampleReplayedError,
    ValidationError,
)
from posturebridge.mdm.service.errors import ErrorDetail, MdmError, OAuthError

log = logging.getLogger(__name__)

_DOMAIN_STATUS: dict[type[MdmDomainError], tuple[int, str | None]] = {
    SampleReplayedError: (409, "nonce"),
    SampleFromTheFutureError: (400, "sampledDateTime"),
    InvalidOsVersionError: (400, "osVersion"),
    ImmutableIdMissingError: (409, None),
    ImmutableIdInvalidError: (409, None),
}


def error_response(error: MdmError) -> JSONResponse:
    if isinstance(error, OAuthError):
        body: dict[str, Any] = {"error": error.code, "error_description": error.message}
        return JSONResponse(body, status_code=error.status_code, headers={"Cache-Control": "no-store"})
    message = error.message
    if error.target and not message.startswith(error.target):
        message = f"{error.target}: {message}"  # the message names the field it is about
    info: dict[str, Any] = {"code": error.code, "message": message, "target": error.target}
    info["details"] = [{"code": d.code, "message": d.message, "target": d.target} for d in error.details]
    return JSONResponse({"error": info}, status_code=error.status_code, headers=error.headers or None)


def from_domain(error: MdmDomainError) -> MdmError:
    if isinstance(error, ValidationError):
        details = [ErrorDetail("invalidValue", str(e), e.path or None) for e in error.errors]
        return MdmError(str(error), target=error.errors[0].path or None, code=error.code, details=details)
    for kind, (status, target) in _DOMAIN_STATUS.items():
        if isinstance(error, kind):
            translated = MdmError(str(error), target=target, code=error.code)
            translated.status_code = status
            return translated
    return MdmError(str(error), code=error.code)


def _field(location: tuple[Any, ...]) -> str | None:
    parts = (
        [str(part) for part in location[1:]] if location and location[0] in {"body", "query", "path", "header"} else []
    )
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    async def mdm_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MdmError)
        return error_response(exc)

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MdmDomainError)
        return error_response(from_domain(exc))

    async def request_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = []
        for item in exc.errors():
            target = _field(tuple(item.get("loc", ())))
            message = "the body is not valid JSON" if item.get("type") == "json_invalid" else str(item.get("msg"))
            details.append(ErrorDetail("invalidValue", f"{target}: {message}" if target else message, target))
        first = details[0] if details else ErrorDetail("invalidValue", "the request is not valid")
        return error_response(MdmError(first.message, target=first.target, code="validationError", details=details))

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        codes = {404: "notFound", 405: "methodNotAllowed"}
        error = MdmError(str(exc.detail), code=codes.get(exc.status_code, "httpError"))
        error.status_code = exc.status_code
        return error_response(error)

    async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database error: %s", exc)
        error = MdmError("the MDM database is busy or unavailable; retry", code="serviceUnavailable")
        error.status_code = 503
        error.headers = {"Retry-After": "1"}
        return error_response(error)

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        error = MdmError("an unexpected error occurred in the MDM", code="internalError")
        error.status_code = 500
        return error_response(error)

    app.add_exception_handler(MdmError, mdm_error)
    app.add_exception_handler(MdmDomainError, domain_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(Exception, unexpected)
