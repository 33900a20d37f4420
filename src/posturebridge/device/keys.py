"""The device key: made by the broker at registration, used to prove the device at every sign-in.

The agent (signing) side of the device identity described in the shared reference
device-identity.md: generate the key pair, wrap its public half in the PKCS#10 request the device
registration service (DRS) signs into the device certificate, sign a device proof over a server
nonce, keep the key in the agent's state file as PEM. The directory's checks of the same artefacts
live in `posturebridge.device.proof`.

Pure functions and small values: no HTTP, no files, no clock (the caller passes `now`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

DevicePrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
DevicePublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyAlgorithm(StrEnum):
    """Device key types the reference documents.

    RSA 2048 is what [MS-DVRJ] requires for the registration CSR; EC P-256 is what macOS Platform SSO
    registers (DRS api-version 3.0) and what iOS may hold (ES256 in PKeyAuth).
    """

    RSA_2048 = "RSA-2048"
    EC_P256 = "EC-P256"


class DeviceKeyError(ValueError):
    """A key, certificate or PEM blob that cannot serve as a device key."""


# JWS algorithm per key type: RS256 for RSA, ES256 for EC (PKeyAuth and PRT request headers).
JWS_ALGORITHMS: dict[KeyAlgorithm, str] = {KeyAlgorithm.RSA_2048: "RS256", KeyAlgorithm.EC_P256: "ES256"}
_RSA_BITS = 2048
_RSA_PUBLIC_EXPONENT = 65537

# The registration CSR's subject: a fixed CN that the DRS replaces with the new deviceId
# (himmelblau aad-join-spec "MUST"; ROADtools and AADInternals send the same value).
REGISTRATION_CSR_COMMON_NAME = "7E980AD9-B86D-4306-9425-9AC066FB014A"
CERTIFICATE_REQUEST_TYPE = "pkcs10"

# Device proof claim names. `request_nonce` carries the nonce from `grant_type=srv_challenge`
# ([MS-OAPXBC] nonce and PRT request pages); `client_id`, `iss` and `aud` (the token endpoint) follow
# the device-only token request seen in MSAL for iOS (MSIDDeviceTokenUtil.m). `iat`/`exp` are
# inferred: the sources say the server should check the nonce is recent, not which claim says so.
CLAIM_AUDIENCE = "aud"
CLAIM_NONCE = "request_nonce"
CLAIM_CLIENT_ID = "client_id"
CLAIM_ISSUER = "iss"
CLAIM_ISSUED_AT = "iat"
CLAIM_EXPIRES = "exp"
DEFAULT_PROOF_LIFETIME = timedelta(minutes=5)  # inferred; short because the nonce is single-use


def key_algorithm(key: object) -> KeyAlgorithm:
    """The KeyAlgorithm of a private or public key; refuses any other type or size."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size != _RSA_BITS:
            raise DeviceKeyError(f"an RSA device key must be {_RSA_BITS} bits, not {key.key_size}")
        return KeyAlgorithm.RSA_2048
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise DeviceKeyError(f"an EC device key must be on P-256, not {key.curve.name}")
        return KeyAlgorithm.EC_P256
    raise DeviceKeyError(f"{type(key).__name__} is not an RSA 2048 or EC P-256 key")


@dataclass(frozen=True)
class DeviceKey:
    """The device's private key (dkpriv) and what follows from its type."""

    private_key: DevicePrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        key_algorithm(self.private_key)

    @property
    def algorithm(self) -> KeyAlgorithm:
        return key_algorithm(self.private_key)

    @property
    def jws_algorithm(self) -> str:
        return JWS_ALGORITHMS[self.algorithm]

    @property
    def public_key(self) -> DevicePublicKey:
        return self.private_key.public_key()

    def public_key_pem(self) -> bytes:
        return public_key_to_pem(self.public_key)


def generate_device_key(algorithm: KeyAlgorithm = KeyAlgorithm.RSA_2048) -> DeviceKey:
    """A new device key pair."""
    if algorithm is KeyAlgorithm.EC_P256:
        return DeviceKey(ec.generate_private_key(ec.SECP256R1()))
    return DeviceKey(rsa.generate_private_key(public_exponent=_RSA_PUBLIC_EXPONENT, key_size=_RSA_BITS))


def private_key_to_pem(key: DeviceKey, *, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM for the agent's state file, encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=encryption,
    )


def load_private_key_pem(data: bytes, *, passphrase: bytes | None = None) -> DeviceKey:
    """The DeviceKey stored by `private_key_to_pem`; refuses a wrong passphrase or a non-device key."""
    try:
        private_key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as error:  # passphrase given for a clear key, or missing for an encrypted one
        raise DeviceKeyError(f"cannot load the device key: {error}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise DeviceKeyError("cannot load the device key: not a PEM private key, or wrong passphrase") from None
    return DeviceKey(_device_private_key(private_key))


def public_key_to_pem(key: DevicePublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM, the form a directory stores for a registered device."""
    key_algorithm(key)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key_pem(data: bytes) -> DevicePublicKey:
    """A registered device public key from PEM; refuses other key types and sizes."""
    try:
        public_key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise DeviceKeyError("cannot load the device public key: not a PEM public key") from None
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise DeviceKeyError(f"{type(public_key).__name__} is not an RSA 2048 or EC P-256 key")
    key_algorithm(public_key)
    return public_key


def certificate_signing_request(key: DeviceKey) -> bytes:
    """DER PKCS#10 request for the device certificate, signed with SHA-256 by the device key.

    Subject is the fixed CN the DRS expects ([MS-DVRJ]: RSA 2048, SHA256WithRSAEncryption). The DRS
    nonce extension (OID 1.2.840.113556.1.5.284.2.1, a SHOULD in the community spec) is not added: its
    encoding is not documented in the material reviewed.
    """
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, REGISTRATION_CSR_COMMON_NAME)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key.private_key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.DER)


def certificate_request_body(csr_der: bytes, algorithm: KeyAlgorithm = KeyAlgorithm.RSA_2048) -> dict[str, str]:
    """The join request's ``CertificateRequest`` object: ``Type`` pkcs10, ``Data`` base64 DER.

    For an EC key adds ``KeyType`` ``ECC`` (ROADtools, macOS Platform SSO registration). ``KeySecurity``
    ``SecureEnclave`` is left out: a software key is not in a Secure Enclave.
    """
    body = {"Type": CERTIFICATE_REQUEST_TYPE, "Data": base64.b64encode(csr_der).decode("ascii")}
    if algorithm is KeyAlgorithm.EC_P256:
        body["KeyType"] = "ECC"
    return body


def sign_device_proof(
    key: DeviceKey,
    *,
    nonce: str,
    audience: str,
    client_id: str,
    now: datetime,
    device_certificate: bytes | None = None,
    lifetime: timedelta = DEFAULT_PROOF_LIFETIME,
) -> str:
    """A compact JWS by the device key over the server's nonce, for `audience` (the token endpoint).

    Header: ``alg`` RS256/ES256, ``typ`` JWT, and ``x5c`` [standard base64 DER device certificate]
    when the DRS has issued one (required in [MS-OAPXBC]; optional here so a device can prove
    possession before its certificate exists).
    """
    for name, value in (("nonce", nonce), ("audience", audience), ("client_id", client_id)):
        if not isinstance(value, str) or not value:
            raise DeviceKeyError(f"{name} must be a non-empty string")
    issued_at = _epoch_seconds(now)
    if lifetime <= timedelta(0):
        raise DeviceKeyError("the proof lifetime must be positive")
    headers: dict[str, Any] = {"typ": "JWT"}
    if device_certificate is not None:
        headers["x5c"] = [_certificate_for(key, device_certificate)]
    claims = {
        CLAIM_AUDIENCE: audience,
        CLAIM_ISSUER: client_id,
        CLAIM_CLIENT_ID: client_id,
        CLAIM_NONCE: nonce,
        CLAIM_ISSUED_AT: issued_at,
        CLAIM_EXPIRES: issued_at + int(lifetime.total_seconds()),
    }
    return jwt.encode(claims, key.private_key, algorithm=key.jws_algorithm, headers=headers)


def _certificate_for(key: DeviceKey, certificate_der: bytes) -> str:
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise DeviceKeyError("the device certificate is not DER X.509") from None
    if not same_public_key(certificate.public_key(), key.public_key):
        raise DeviceKeyError("the device certificate was issued for another key")
    return base64.b64encode(certificate_der).decode("ascii")


def same_public_key(a: object, b: object) -> bool:
    """Whether two public keys are the same key (compares SubjectPublicKeyInfo DER)."""
    if not isinstance(a, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not isinstance(
        b, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    ):
        return False
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(der, spki) == b.public_bytes(der, spki)


def _device_private_key(key: object) -> DevicePrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key_algorithm(key)
        return key
    raise DeviceKeyError(f"{type(key).__name__} is not an RSA 2048 or EC P-256 key")


def _epoch_seconds(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise DeviceKeyError("now must be timezone-aware")
    return int(now.timestamp())
