"""The broker's side of PKeyAuth in a browser sign-in: read the directory's challenge, answer it with the
device key.

The authorize endpoint answers a client that advertises PKeyAuth (``x-ms-PKeyAuth: 1.0`` or the user agent
keyword ``PKeyAuth/1.0``) with a redirect to ``urn:http-auth:PKeyAuth?CertAuthorities=…&Version=1.0&
Context=…&nonce=…&SubmitUrl=…[&TenantId=…]``. The web view intercepts it; the broker loads SubmitUrl with
``Authorization: PKeyAuth AuthToken="<JWT>",Context="<Context>",Version="1.0"``, the JWT signed by the device
key with ``x5c`` [device certificate] and claims ``aud`` (SubmitUrl without its query), ``nonce``, ``iat``
(MSAL Android PKeyAuthChallengeFactory / JWSBuilder, MSAL ObjC MSIDPkeyAuthHelper; device-identity.md
§3.3–3.4). Without a device certificate the answer carries no AuthToken: "no device". Pure: no HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import jwt

from posturebridge.device.keys import DeviceKey, DeviceKeyError

CHALLENGE_PREFIX = "urn:http-auth:PKeyAuth"
ADVERTISE_HEADER = "x-ms-PKeyAuth"
VERSION = "1.0"


class PKeyAuthChallengeError(ValueError):
    """A redirect that is not a well-formed PKeyAuth challenge (a required parameter missing)."""


@dataclass(frozen=True)
class PKeyAuthChallenge:
    submit_url: str
    context: str
    nonce: str
    version: str
    cert_authorities: tuple[str, ...]
    tenant_id: str | None


def is_challenge(location: str) -> bool:
    return location.startswith(CHALLENGE_PREFIX + "?")


def parse_challenge(location: str) -> PKeyAuthChallenge:
    """The challenge of a ``urn:http-auth:PKeyAuth?…`` redirect; nonce, Context, Version and SubmitUrl required."""
    if not is_challenge(location):
        raise PKeyAuthChallengeError(f"not a PKeyAuth challenge: {location[:80]}")
    values = {key: items[0] for key, items in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}
    missing = [name for name in ("nonce", "Context", "Version", "SubmitUrl") if not values.get(name)]
    if missing:
        raise PKeyAuthChallengeError(f"the PKeyAuth challenge lacks {', '.join(missing)}")
    return PKeyAuthChallenge(
        submit_url=values["SubmitUrl"],
        context=values["Context"],
        nonce=values["nonce"],
        version=values["Version"],
        cert_authorities=tuple(item for item in values.get("CertAuthorities", "").split(";") if item),
        tenant_id=values.get("TenantId") or None,
    )


def auth_token(challenge: PKeyAuthChallenge, key: DeviceKey, certificate_der: bytes, now: dt.datetime) -> str:
    """The AuthToken JWT: the device key's signature over the challenge's nonce for its SubmitUrl."""
    if now.tzinfo is None:
        raise DeviceKeyError("the clock must return timezone-aware datetimes")
    parts = urlsplit(challenge.submit_url)
    audience = f"{parts.scheme}://{parts.netloc}{parts.path}"
    claims = {"aud": audience, "nonce": challenge.nonce, "iat": int(now.timestamp())}
    headers = {"typ": "JWT", "x5c": [base64.b64encode(certificate_der).decode("ascii")]}
    return jwt.encode(claims, key.private_key, algorithm=key.jws_algorithm, headers=headers)


def authorization(challenge: PKeyAuthChallenge, token: str | None) -> str:
    """The ``Authorization`` header value that answers `challenge` (no AuthToken: no device certificate)."""
    token_part = f'AuthToken="{token}",' if token else ""
    return f'PKeyAuth {token_part}Context="{challenge.context}",Version="{challenge.version}"'
