"""Token signing keys: RS256, published as a JWKS, rotated without breaking issued tokens.

Keys live in the directory database so every directory process signs with the same key. A rotation
adds a new active key and retires the old one; a retired key stays in the JWKS until every token it
signed has expired (``ACCESS_TOKEN_LIFETIME`` plus clock skew), then it is dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.directory.models import SigningKey

ACCESS_TOKEN_LIFETIME = dt.timedelta(seconds=3599)
KEY_PUBLISH_GRACE = ACCESS_TOKEN_LIFETIME + dt.timedelta(minutes=10)
CACHE_SECONDS = 30.0


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_der: bytes
    created: dt.datetime
    retired: dt.datetime | None

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        x5t = base64.urlsafe_b64encode(hashlib.sha1(self.certificate_der).digest()).decode().rstrip("=")
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": x5t,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "x5c": [base64.b64encode(self.certificate_der).decode()],
            "alg": "RS256",
        }


def _self_signed(key: rsa.RSAPrivateKey, now: dt.datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "posturebridge token signing")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def _load(row: SigningKey) -> LoadedKey:
    key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    created = row.created_date_time if row.created_date_time.tzinfo else row.created_date_time.replace(tzinfo=dt.UTC)
    retired = row.retired_date_time
    if retired is not None and retired.tzinfo is None:
        retired = retired.replace(tzinfo=dt.UTC)
    return LoadedKey(row.kid, key, _self_signed(key, created), created, retired)


def create_key(session: Session, now: dt.datetime) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    digest = hashlib.sha256(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).digest()
    kid = base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")
    row = SigningKey(kid=kid, private_key_pem=pem.decode(), created_date_time=now, retired_date_time=None)
    session.add(row)
    return row


def rotate(session: Session, now: dt.datetime) -> SigningKey:
    """Retire the active key(s) and create a new one; the caller commits."""
    for row in session.scalars(select(SigningKey).where(SigningKey.retired_date_time.is_(None))):
        row.retired_date_time = now
    return create_key(session, now)


class KeyRing:
    """The keys of this process: refreshed from the database every few seconds and on an unknown kid."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._keys: dict[str, LoadedKey] = {}
        self._signing: LoadedKey | None = None
        self._loaded_at = 0.0
        self._loaded_certs: dict[str, LoadedKey] = {}

    def _refresh(self, now: dt.datetime) -> None:
        with self._sessions() as session:
            rows = list(session.scalars(select(SigningKey)))
            if not any(row.retired_date_time is None for row in rows):
                rows.append(create_key(session, now))
                session.commit()
        keys: dict[str, LoadedKey] = {}
        for row in rows:
            loaded = self._loaded_certs.get(row.kid)
            if loaded is None or loaded.retired != row.retired_date_time:
                loaded = _load(row)
            keys[row.kid] = loaded
        self._loaded_certs = keys
        self._keys = {
            kid: key for kid, key in keys.items() if key.retired is None or key.retired + KEY_PUBLISH_GRACE > now
        }
        active = [key for key in keys.values() if key.retired is None]
        self._signing = max(active, key=lambda key: key.created)
        self._loaded_at = time.monotonic()

    def _ensure(self, now: dt.datetime, *, force: bool = False) -> None:
        with self._lock:
            if force or self._signing is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
                self._refresh(now)

    def signing_key(self, now: dt.datetime) -> LoadedKey:
        self._ensure(now)
        assert self._signing is not None
        return self._signing

    def public_key(self, kid: str, now: dt.datetime) -> rsa.RSAPublicKey | None:
        self._ensure(now)
        key = self._keys.get(kid)
        if key is None:
            self._ensure(now, force=True)
            key = self._keys.get(kid)
        return key.private_key.public_key() if key is not None else None

    def jwks(self, now: dt.datetime) -> dict[str, Any]:
        self._ensure(now)
        return {"keys": [key.jwk() for key in sorted(self._keys.values(), key=lambda key: key.created, reverse=True)]}

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0
