"""Which registered device a sign-in comes from: srv_challenge nonces and the device proofs over them.

Three carriers, one rule — only a valid, unexpired, unreplayed proof by the registered key of an
enabled device of the tenant makes a sign-in come "from" that device; anything else is a sign-in from
an unknown device, and the reason is kept so the decision can explain itself:

- ``grant_type=srv_challenge`` at the token endpoint issues a nonce (``{"Nonce": …}``), short-lived
  and single-use ([MS-OAPXBC] nonce request/response, device-identity.md §2.1).
- ``x-ms-DeviceCredential`` on a token request: an RS256/ES256 JWT with the device certificate in
  ``x5c`` and the nonce in ``request_nonce`` ([MS-OAPXBC] DeviceCredential header format; built by
  `posturebridge.device.keys.sign_device_proof`). The server ignores a header that does not verify
  and goes on ([MS-OAPXBC] server header processing, device-identity.md §2.5): no error.
- PKeyAuth for browsers: the authorize endpoint answers a client that advertises ``PKeyAuth/1.0``
  with a redirect to ``urn:http-auth:PKeyAuth?…nonce…Context…SubmitUrl``; the client loads SubmitUrl
  with ``Authorization: PKeyAuth AuthToken="<JWT>", Context="…", Version="1.0"``, the JWT carrying
  ``x5c``, ``aud`` = SubmitUrl, ``nonce``, ``iat`` (MSAL Android PKeyAuthChallenge/JWSBuilder, MSAL
  ObjC MSIDPkeyAuthHelper; device-identity.md §3.3–3.4). No AuthToken means "no device".

This module never decides what an unknown device means; the CA engine does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posturebridge.common.clock import aware
from posturebridge.device.keys import DeviceKeyError, load_public_key_pem
from posturebridge.device.proof import ProofError, peek_device_id, verify_device_proof
from posturebridge.directory.models import Device, DeviceNonce

NONCE_LIFETIME = dt.timedelta(minutes=5)
PKEYAUTH_MAX_AGE = dt.timedelta(minutes=5)
PKEYAUTH_VERSION = "1.0"
DEVICE_CREDENTIAL_HEADER = "x-ms-DeviceCredential"


@dataclass(frozen=True)
class DeviceEvidence:
    """The device a sign-in was proved from (``device_id``), or None and why not."""

    device_id: str | None
    reason: str

    @classmethod
    def unknown(cls, reason: str) -> DeviceEvidence:
        return cls(None, reason)


NO_PROOF = DeviceEvidence.unknown("no device proof was presented")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_nonce(session: Session, tenant_id: str | None, now: dt.datetime) -> str:
    """A new srv_challenge nonce (only its hash is stored)."""
    value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    session.add(
        DeviceNonce(
            nonce_hash=_hash(value),
            tenant_id=tenant_id,
            created_date_time=now,
            expires_date_time=now + NONCE_LIFETIME,
            used=False,
        )
    )
    session.flush()
    return value


def consume_nonce(session: Session, value: str, tenant_id: str, now: dt.datetime) -> str | None:
    """Use a nonce once: None when it was good, else why it was refused."""
    row = session.get(DeviceNonce, _hash(value))
    if row is None:
        return "the nonce was not issued by this directory"
    if row.tenant_id is not None and row.tenant_id != tenant_id:
        return "the nonce was issued for another tenant"
    if aware(row.expires_date_time) <= now:
        return "the nonce has expired"
    # Conditional update: of two concurrent redemptions only one changes the row.
    result = session.execute(
        update(DeviceNonce)
        .where(DeviceNonce.nonce_hash == row.nonce_hash, DeviceNonce.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return "the nonce was already used"
    session.expire(row)
    return None


def _x5c_thumbprint(header: dict[str, Any]) -> str | None:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        return None
    try:
        der = base64.b64decode(chain[0], validate=True)
    except (binascii.Error, ValueError):
        return None
    return hashlib.sha1(der).hexdigest().upper()  # the thumbprint the DRS returned and stored


def _registered_device(session: Session, tenant_id: str, device_id: str | None) -> Device | DeviceEvidence:
    if device_id is None:
        return DeviceEvidence.unknown("the proof carries no device certificate")
    device = session.scalars(select(Device).where(Device.tenant_id == tenant_id, Device.device_id == device_id)).first()
    if device is None:
        return DeviceEvidence.unknown(f"device {device_id} is not registered in the tenant")
    if not device.account_enabled:
        return DeviceEvidence.unknown(f"device {device_id} is disabled")
    if not device.device_public_key_pem or not device.device_certificate_thumbprint:
        return DeviceEvidence.unknown(f"device {device_id} has no registered key")
    return device


def from_device_credential(
    session: Session, tenant_id: str, token: str | None, audiences: set[str], now: dt.datetime
) -> DeviceEvidence:
    """Evaluate an ``x-ms-DeviceCredential`` proof; never raises for a bad proof."""
    if not token:
        return NO_PROOF
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return DeviceEvidence.unknown("the device proof is not a JWT")
    found = _registered_device(session, tenant_id, peek_device_id(token))
    if isinstance(found, DeviceEvidence):
        return found
    if _x5c_thumbprint(header) != found.device_certificate_thumbprint:
        return DeviceEvidence.unknown("the proof's certificate is not the one issued to the device")
    audience, nonce = unverified.get("aud"), unverified.get("request_nonce")
    if not isinstance(audience, str) or audience not in audiences:
        return DeviceEvidence.unknown("the proof is for another audience")
    if not isinstance(nonce, str) or not nonce:
        return DeviceEvidence.unknown("the proof carries no request_nonce")
    try:
        registered_key = load_public_key_pem(found.device_public_key_pem.encode())  # type: ignore[union-attr]
        verify_device_proof(token, registered_key=registered_key, expected_nonce=nonce, audience=audience, now=now)
    except (ProofError, DeviceKeyError) as error:
        return DeviceEvidence.unknown(f"the device proof was refused: {error}")
    refused = consume_nonce(session, nonce, tenant_id, now)
    if refused is not None:
        return DeviceEvidence.unknown(refused)
    return DeviceEvidence(found.device_id, "verified")


def device_still_valid(session: Session, tenant_id: str, device_id: str) -> bool:
    """Whether a device remembered by a refresh token or code still exists and is enabled."""
    device = session.scalars(select(Device).where(Device.tenant_id == tenant_id, Device.device_id == device_id)).first()
    return device is not None and device.account_enabled


# --- PKeyAuth -----------------------------------------------------------------------------------

_AUTH_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))\s*,?')


def advertises_pkeyauth(user_agent: str | None, pkeyauth_header: str | None) -> bool:
    """A client says it can answer PKeyAuth with the UA keyword or the x-ms-PKeyAuth header."""
    return "PKeyAuth/1.0" in (user_agent or "") or bool(pkeyauth_header)


def parse_pkeyauth_authorization(value: str | None) -> dict[str, str] | None:
    """``PKeyAuth AuthToken="…", Context="…", Version="1.0"`` as a dict; None if not a PKeyAuth header."""
    if not value or not value.strip().lower().startswith("pkeyauth"):
        return None
    params: dict[str, str] = {}
    for match in _AUTH_PARAM.finditer(value.strip()[len("pkeyauth") :]):
        params[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
    return params


def challenge_location(
    *, cert_authorities: str, context: str, nonce: str, submit_url: str, tenant_id: str | None
) -> str:
    """The ``urn:http-auth:PKeyAuth?…`` redirect of an interactive PKeyAuth challenge."""
    query = {
        "CertAuthorities": cert_authorities,
        "Version": PKEYAUTH_VERSION,
        "Context": context,
        "nonce": nonce,
        "SubmitUrl": submit_url,
    }
    if tenant_id:
        query["TenantId"] = tenant_id
    return "urn:http-auth:PKeyAuth?" + urlencode(query)


def _iat(value: object) -> dt.datetime | None:
    # Android sends a number, iOS a string of digits (device-identity.md §3.4).
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def from_pkeyauth(
    session: Session, auth_token: str | None, *, nonce: str, submit_url: str, now: dt.datetime
) -> DeviceEvidence:
    """Evaluate a PKeyAuth ``AuthToken``; never raises for a bad one."""
    if not auth_token:
        return DeviceEvidence.unknown("the client answered PKeyAuth without a device certificate")
    try:
        header = jwt.get_unverified_header(auth_token)
    except jwt.PyJWTError:
        return DeviceEvidence.unknown("the PKeyAuth AuthToken is not a JWT")
    device_id = peek_device_id(auth_token)
    candidates = list(session.scalars(select(Device).where(Device.device_id == (device_id or ""))))
    if not candidates:
        return DeviceEvidence.unknown("the AuthToken's certificate names no registered device")
    thumbprint = _x5c_thumbprint(header)
    device = next((item for item in candidates if item.device_certificate_thumbprint == thumbprint), None)
    if device is None or not device.device_public_key_pem:
        return DeviceEvidence.unknown("the AuthToken's certificate is not the one issued to the device")
    if not device.account_enabled:
        return DeviceEvidence.unknown(f"device {device.device_id} is disabled")
    try:
        key = load_public_key_pem(device.device_public_key_pem.encode())
        claims = jwt.decode(
            auth_token,
            key,
            algorithms=["RS256", "ES256"],
            audience=submit_url,
            options={"require": ["aud", "nonce"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except (jwt.PyJWTError, DeviceKeyError) as error:
        return DeviceEvidence.unknown(f"the AuthToken was refused: {error}")
    if claims.get("nonce") != nonce:
        return DeviceEvidence.unknown("the AuthToken does not carry the challenge's nonce")
    issued = _iat(claims.get("iat"))
    if issued is None or abs(now - issued) > PKEYAUTH_MAX_AGE:
        return DeviceEvidence.unknown("the AuthToken is not recent")
    refused = consume_nonce(session, nonce, device.tenant_id, now)
    if refused is not None:
        return DeviceEvidence.unknown(refused)
    return DeviceEvidence(device.device_id, "verified")
