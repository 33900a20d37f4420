"""OAuth errors in Entra's shape, raised anywhere in the identity platform and rendered in one place.

Body (learn.microsoft.com/entra/identity-platform/reference-error-codes):
``{"error", "error_description": "AADSTS<code>: <message> Trace ID: … Correlation ID: … Timestamp: …",
"error_codes": [code], "timestamp", "trace_id", "correlation_id", "error_uri"}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from posturebridge.common.clock import utcnow


class OAuthError(Exception):
    """An error of the token or authorize endpoint: OAuth ``error`` plus the AADSTS code and message."""

    def __init__(self, error: str, code: int, message: str, *, status_code: int = 400, suberror: str | None = None):
        super().__init__(f"AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status_code = status_code
        self.suberror = suberror

    def body(self, correlation_id: str | None = None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        timestamp = utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
        trailer = f"Trace ID: {trace_id} Correlation ID: {correlation} Timestamp: {timestamp}"
        description = f"AADSTS{self.code}: {self.message} {trailer}"
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


def tenant_not_found(tenant: str) -> OAuthError:
    return OAuthError(
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
        "correct cloud.",
    )


def missing_parameter(name: str) -> OAuthError:
    return OAuthError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def application_not_found(client_id: str, tenant: str) -> OAuthError:
    return OAuthError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if "
        "the application has not been installed by the administrator of the tenant or consented to by any user in "
        "the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def invalid_client_secret(client_id: str) -> OAuthError:
    return OAuthError(
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
        f"not the client secret ID, for a secret added to app '{client_id}'.",
        status_code=401,
    )


def invalid_scope(message: str, code: int = 70011) -> OAuthError:
    return OAuthError("invalid_scope", code, message)


def invalid_grant(code: int, message: str, suberror: str | None = None) -> OAuthError:
    return OAuthError("invalid_grant", code, message, suberror=suberror)


# OAuth error and MSAL suberror for the Conditional Access failure codes
# (learn.microsoft.com/entra/identity-platform/reference-error-codes; suberrors as MSAL surfaces them).
_CONDITIONAL_ACCESS_ERRORS = {
    50076: ("interaction_required", "basic_action"),
    50079: ("interaction_required", "basic_action"),
    50097: ("invalid_grant", "device_authentication_failed"),
    53000: ("invalid_grant", "additional_action"),
    53001: ("invalid_grant", "additional_action"),
    53002: ("invalid_grant", "additional_action"),
    53003: ("invalid_grant", "message_only"),
}


def conditional_access_error(code: int, message: str) -> OAuthError:
    error, suberror = _CONDITIONAL_ACCESS_ERRORS.get(code, ("invalid_grant", "message_only"))
    return OAuthError(error, code, message, suberror=suberror)
