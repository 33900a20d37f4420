"""Short-lived signed tickets that carry a browser sign-in between the pages of the authorize flow.

The authorize flow is stateless on the server: the sign-in cookie (``ESTSAUTH``, named after Entra's),
the device a PKeyAuth response proved, the pending consent and the PKeyAuth ``Context`` are JWTs
signed with the token signing key, each with its own audience (``kind``) so one can never be used as
another, and never as an access token (no resource accepts these audiences).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt

from posturebridge.directory.auth.tokens import TokenIssuer

SESSION_COOKIE = "ESTSAUTH"
SESSION_LIFETIME = dt.timedelta(hours=8)
FLOW_LIFETIME = dt.timedelta(minutes=15)


def _audience(kind: str) -> str:
    return f"urn:posturebridge:ticket:{kind}"


def issue(tokens: TokenIssuer, kind: str, claims: dict[str, Any], now: dt.datetime, lifetime: dt.timedelta) -> str:
    epoch = int(now.timestamp())
    return tokens.sign(
        {**claims, "aud": _audience(kind), "iat": epoch, "exp": epoch + int(lifetime.total_seconds())}, now
    )


def read(tokens: TokenIssuer, kind: str, value: str | None, now: dt.datetime) -> dict[str, Any] | None:
    """The claims of a ticket of ``kind`` this directory issued and that has not expired; otherwise None."""
    if not value:
        return None
    try:
        kid = jwt.get_unverified_header(value).get("kid")
    except jwt.PyJWTError:
        return None
    key = tokens.keys.public_key(kid, now) if isinstance(kid, str) else None
    if key is None:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            value,
            key,
            algorithms=["RS256"],
            audience=_audience(kind),
            options={"require": ["exp", "aud"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        return None
    if int(claims["exp"]) <= now.timestamp():
        return None
    return claims
