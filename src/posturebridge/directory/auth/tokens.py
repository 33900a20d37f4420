"""Access tokens, ID tokens and their validation.

Tokens are v2.0 JWTs signed RS256 with the key ring's active key (header ``typ``, ``alg``, ``kid``).
Claims follow learn.microsoft.com/entra/identity-platform/access-token-claims-reference: ``aud`` (the
resource's application id), ``iss`` ``…/{tid}/v2.0``, ``iat``/``nbf``/``exp``, ``azp``/``azpacr``,
``oid``, ``sub``, ``tid``, ``uti``, ``ver`` "2.0", ``roles`` (application permissions) or ``scp``
(delegated, space separated), ``wids`` (directory role templates of the user). A device-bound sign-in
adds ``deviceid`` (the Entra deviceId), as Entra's PRT-based tokens carry it (device-identity.md; the
claim name is inferred, see graph-facts.md §11).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from posturebridge.common.cache import TtlCache
from posturebridge.directory.auth.keys import ACCESS_TOKEN_LIFETIME, KeyRing

GRAPH_AUDIENCES = frozenset(
    {"00000003-0000-0000-c000-000000000000", "https://graph.microsoft.com", "https://graph.microsoft.com/"}
)


class InvalidToken(Exception):
    """A bearer token that must not be accepted; the message says why."""


def _uti() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def _opaque() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issuer(base_url: str, tenant_id: str) -> str:
    return f"{base_url}/{tenant_id}/v2.0"


@dataclass(frozen=True)
class AppPrincipal:
    """The client of a client-credentials request, resolved in the requesting tenant."""

    app_id: str
    service_principal_id: str
    display_name: str
    credential_type: int  # azpacr: 1 = client secret, 2 = certificate


@dataclass(frozen=True)
class UserPrincipal:
    id: str
    user_principal_name: str
    display_name: str
    role_template_ids: tuple[str, ...] = ()


class TokenIssuer:
    """Signs tokens with the key ring's active key."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        # Validated tokens: clients reuse an access token for its lifetime, so most Graph calls skip the
        # signature check. An entry never outlives the token's exp (checked again on every hit).
        self._validated: TtlCache[dict[str, Any]] = TtlCache(ttl=ACCESS_TOKEN_LIFETIME.total_seconds())

    def _sign(self, claims: dict[str, Any], now: dt.datetime) -> str:
        key = self.keys.signing_key(now)
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})

    def sign(self, claims: dict[str, Any], now: dt.datetime) -> str:
        """Any JWT this directory vouches for (sign-in tickets), signed like its tokens."""
        return self._sign(claims, now)

    def _times(self, now: dt.datetime, lifetime: dt.timedelta) -> dict[str, int]:
        epoch = int(now.timestamp())
        return {"iat": epoch, "nbf": epoch, "exp": epoch + int(lifetime.total_seconds())}

    def app_token(
        self,
        *,
        base_url: str,
        tenant_id: str,
        client: AppPrincipal,
        audience: str,
        roles: Iterable[str],
        now: dt.datetime,
    ) -> tuple[str, int]:
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": issuer(base_url, tenant_id),
            **self._times(now, ACCESS_TOKEN_LIFETIME),
            "aio": _opaque(),
            "azp": client.app_id,
            "azpacr": str(client.credential_type),
            "idp": issuer(base_url, tenant_id).removesuffix("/v2.0") + "/",
            "idtyp": "app",
            "oid": client.service_principal_id,
            "rh": _opaque(),
            "sub": client.service_principal_id,
            "tid": tenant_id,
            "uti": _uti(),
            "ver": "2.0",
        }
        granted = sorted(set(roles))
        if granted:
            claims["roles"] = granted
        return self._sign(claims, now), int(ACCESS_TOKEN_LIFETIME.total_seconds())

    def user_token(
        self,
        *,
        base_url: str,
        tenant_id: str,
        client_id: str,
        credential_type: int,
        user: UserPrincipal,
        audience: str,
        scopes: Iterable[str],
        device_id: str | None,
        auth_methods: Iterable[str],
        now: dt.datetime,
    ) -> tuple[str, int]:
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": issuer(base_url, tenant_id),
            **self._times(now, ACCESS_TOKEN_LIFETIME),
            "aio": _opaque(),
            "azp": client_id,
            "azpacr": str(credential_type),
            "idtyp": "user",
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "rh": _opaque(),
            "scp": " ".join(sorted(set(scopes))),
            "sub": _pairwise_sub(user.id, client_id),
            "tid": tenant_id,
            "uti": _uti(),
            "ver": "2.0",
            "amr": sorted(set(auth_methods)),
        }
        if user.role_template_ids:
            claims["wids"] = list(user.role_template_ids)
        if device_id:
            claims["deviceid"] = device_id
        return self._sign(claims, now), int(ACCESS_TOKEN_LIFETIME.total_seconds())

    def id_token(
        self,
        *,
        base_url: str,
        tenant_id: str,
        client_id: str,
        user: UserPrincipal,
        nonce: str | None,
        now: dt.datetime,
    ) -> str:
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": issuer(base_url, tenant_id),
            **self._times(now, dt.timedelta(hours=1)),
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "rh": _opaque(),
            "sub": _pairwise_sub(user.id, client_id),
            "tid": tenant_id,
            "uti": _uti(),
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims, now)

    def validate(self, token: str, *, audiences: frozenset[str], now: dt.datetime) -> dict[str, Any]:
        """The claims of a token this directory issued for one of ``audiences``; :class:`InvalidToken` otherwise."""
        cached = self._validated.get((token, audiences))
        if cached is not None:
            _check_lifetime(cached, now)
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not a JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise InvalidToken("the token is not signed with RS256")
        kid = header.get("kid")
        public_key = self.keys.public_key(kid, now) if isinstance(kid, str) else None
        if public_key is None:
            raise InvalidToken("the token is signed with a key this directory does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                # times are checked below against the directory's clock, not PyJWT's time.time()
                options={
                    "require": ["exp", "nbf", "iat", "aud", "iss", "tid"],
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is invalid: {exc}") from None
        if not all(isinstance(claims[name], int | float) for name in ("exp", "nbf", "iat")):
            raise InvalidToken("the token's exp, nbf and iat must be numbers")
        _check_lifetime(claims, now)
        if claims["aud"] not in audiences:
            raise InvalidToken("Invalid audience.")
        if not str(claims["iss"]).endswith(f"/{claims['tid']}/v2.0"):
            raise InvalidToken("the token's issuer does not match its tenant")
        self._validated.put((token, audiences), claims, ttl=max(0.0, claims["exp"] - now.timestamp()))
        return claims


def _check_lifetime(claims: dict[str, Any], now: dt.datetime) -> None:
    """``exp`` and ``nbf`` against the directory's clock (which tests and the demo may move), no leeway."""
    if claims["exp"] <= now.timestamp():
        raise InvalidToken("Lifetime validation failed, the token is expired.")
    if claims["nbf"] > now.timestamp():
        raise InvalidToken("Lifetime validation failed, the token is not yet valid.")


def _pairwise_sub(object_id: str, client_id: str) -> str:
    digest = hashlib.sha256(f"{object_id}:{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:43]


def new_opaque_token() -> str:
    """A refresh token or authorization code value (only its hash is stored)."""
    return f"1.{uuid.uuid4().hex}.{secrets.token_urlsafe(48)}"
