"""Checks a directory runs on what a device sends: its registration CSR and its signed proofs.

The verifying half of `posturebridge.device.keys`. It sits in the device part, not the directory,
so that the agent's tests and the directory check the same wire shapes against one definition;
the directory imports it and owns everything around it (nonce issuing and expiry, device lookup,
the OAuth error response). Pure: no HTTP, no storage, the clock is an argument.

Fail closed: anything that is not a well-formed proof for the registered key, the issued nonce and
this audience, within its age, raises ProofError; nothing is returned half-checked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from posturebridge.device.keys import (
    CLAIM_AUDIENCE,
    CLAIM_CLIENT_ID,
    CLAIM_EXPIRES,
    CLAIM_ISSUED_AT,
    CLAIM_NONCE,
    DEFAULT_PROOF_LIFETIME,
    JWS_ALGORITHMS,
    REGISTRATION_CSR_COMMON_NAME,
    DeviceKeyError,
    DevicePublicKey,
    KeyAlgorithm,
    key_algorithm,
    public_key_to_pem,
    same_public_key,
)


class ProofFailure(StrEnum):
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNSUPPORTED_KEY = "unsupported_key"
    FOREIGN_KEY = "foreign_key"
    INVALID_SIGNATURE = "invalid_signature"
    MISSING_CLAIM = "missing_claim"
    AUDIENCE_MISMATCH = "audience_mismatch"
    NONCE_MISMATCH = "nonce_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNEXPECTED_SUBJECT = "unexpected_subject"


# AADSTS codes from Microsoft's error-code list (mirrored in the shared reference, section 2.6):
# 50099 PKeyAuthInvalidJwtUnauthorized "JWT signature invalid", 140000 InvalidRequestNonce,
# 50155 DeviceAuthenticationFailed. Which failure gets which code is inferred.
_AADSTS: dict[ProofFailure, int] = {
    ProofFailure.INVALID_SIGNATURE: 50099,
    ProofFailure.FOREIGN_KEY: 50099,
    ProofFailure.NONCE_MISMATCH: 140000,
}
_DEVICE_AUTHENTICATION_FAILED = 50155


class ProofError(Exception):
    """A device artefact that fails a check; `failure` says which, `aadsts` the Entra code to report.

    [MS-OAPXBC] answers a failed signature or nonce check on the token endpoint with the OAuth error
    ``invalid_grant`` (`error`); the directory renders it.
    """

    error = "invalid_grant"

    def __init__(self, failure: ProofFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.aadsts = _AADSTS.get(failure, _DEVICE_AUTHENTICATION_FAILED)


class CertificateRequestError(ProofError):
    """A registration CSR that fails a check."""


@dataclass(frozen=True)
class VerifiedProof:
    """What a valid device proof establishes."""

    client_id: str
    nonce: str
    audience: str
    issued_at: datetime
    expires_at: datetime | None
    algorithm: KeyAlgorithm
    device_id: str | None
    """Subject CN of the ``x5c`` device certificate (the deviceId the DRS wrote), when one was sent."""


@dataclass(frozen=True)
class VerifiedCertificateRequest:
    """A registration CSR whose signature proves possession of `public_key`."""

    public_key: DevicePublicKey
    algorithm: KeyAlgorithm
    subject_common_name: str

    def public_key_pem(self) -> bytes:
        return public_key_to_pem(self.public_key)


def verify_device_proof(
    token: str,
    *,
    registered_key: DevicePublicKey,
    expected_nonce: str,
    audience: str,
    now: datetime,
    max_age: timedelta = DEFAULT_PROOF_LIFETIME,
    leeway: timedelta = timedelta(seconds=30),
) -> VerifiedProof:
    """Check a proof from `keys.sign_device_proof` against the device's registered public key.

    Refuses: a malformed token; an algorithm other than the one the registered key signs with (so
    ``none`` and HMAC are refused); an ``x5c`` certificate for another key (a proof made for another
    device); a bad signature (forged or altered); a missing claim; another audience; another nonce;
    a proof issued more than `max_age` ago, expired, or issued in the future beyond `leeway`.
    """
    if not expected_nonce or not audience:
        raise ValueError("expected_nonce and audience must be non-empty")
    checked_at = _aware(now)
    algorithm = key_algorithm(registered_key)
    expected_alg = JWS_ALGORITHMS[algorithm]
    if not isinstance(token, str) or not token:
        raise ProofError(ProofFailure.MALFORMED, "the proof is not a compact JWS string")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ProofError(ProofFailure.MALFORMED, "the proof is not a compact JWS") from None
    if header.get("alg") != expected_alg:
        raise ProofError(
            ProofFailure.UNSUPPORTED_ALGORITHM,
            f"the proof is signed with {header.get('alg')!r}; this device's key signs {expected_alg}",
        )
    if "typ" in header and str(header["typ"]).upper() != "JWT":
        raise ProofError(ProofFailure.MALFORMED, f"unexpected proof type {header['typ']!r}")
    device_id = _check_certificate_header(header, registered_key)

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            registered_key,
            algorithms=[expected_alg],
            # Times, audience and nonce are checked below against the caller's clock and values.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise ProofError(
            ProofFailure.INVALID_SIGNATURE, "the proof's signature does not verify with the registered key"
        ) from None
    except jwt.PyJWTError as error:
        raise ProofError(ProofFailure.MALFORMED, f"the proof cannot be decoded: {error}") from None

    for name in (CLAIM_AUDIENCE, CLAIM_NONCE, CLAIM_CLIENT_ID, CLAIM_ISSUED_AT):
        if name not in claims:
            raise ProofError(ProofFailure.MISSING_CLAIM, f"the proof has no {name!r} claim")
    if claims[CLAIM_AUDIENCE] != audience:
        raise ProofError(
            ProofFailure.AUDIENCE_MISMATCH,
            f"the proof is for audience {claims[CLAIM_AUDIENCE]!r}, not {audience!r}",
        )
    nonce = claims[CLAIM_NONCE]
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), expected_nonce.encode()):
        raise ProofError(ProofFailure.NONCE_MISMATCH, "the proof does not carry the nonce issued to this device")
    client_id = claims[CLAIM_CLIENT_ID]
    if not isinstance(client_id, str) or not client_id:
        raise ProofError(ProofFailure.MALFORMED, "the proof's client_id is not a string")

    issued_at = _timestamp(claims, CLAIM_ISSUED_AT)
    if issued_at > checked_at + leeway:
        raise ProofError(ProofFailure.NOT_YET_VALID, "the proof is issued in the future")
    if checked_at - issued_at > max_age:
        raise ProofError(ProofFailure.EXPIRED, f"the proof is older than {int(max_age.total_seconds())} s")
    expires_at = _timestamp(claims, CLAIM_EXPIRES) if CLAIM_EXPIRES in claims else None
    if expires_at is not None and checked_at >= expires_at + leeway:
        raise ProofError(ProofFailure.EXPIRED, "the proof has expired")
    return VerifiedProof(
        client_id=client_id,
        nonce=nonce,
        audience=audience,
        issued_at=issued_at,
        expires_at=expires_at,
        algorithm=algorithm,
        device_id=device_id,
    )


def peek_device_id(token: str) -> str | None:
    """UNTRUSTED: the deviceId in a proof's ``x5c`` certificate, to find which key to verify with.

    Never a result on its own; pass the registered key of that device to `verify_device_proof`.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    try:
        return _subject_common_name(_x5c_certificate(header))
    except ProofError:
        return None


def verify_certificate_request(
    data: bytes | str, *, expected_subject: str | None = REGISTRATION_CSR_COMMON_NAME
) -> VerifiedCertificateRequest:
    """Check a registration CSR and return the public key it proves possession of.

    Takes DER or PEM bytes, or the base64 text of the join request's ``CertificateRequest.Data``.
    Refuses a bad signature, a hash other than SHA-256, a key other than RSA 2048 / EC P-256, and
    (unless `expected_subject` is None) a subject other than the fixed registration CN.
    """
    request = _load_csr(data)
    try:
        signature_valid = request.is_signature_valid
        hash_algorithm = request.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise CertificateRequestError(
            ProofFailure.UNSUPPORTED_ALGORITHM, "the CSR uses an unsupported signature algorithm"
        ) from None
    if not signature_valid:
        raise CertificateRequestError(ProofFailure.INVALID_SIGNATURE, "the CSR's signature does not verify")
    if not isinstance(hash_algorithm, hashes.SHA256):
        name = hash_algorithm.name if hash_algorithm is not None else "none"
        raise CertificateRequestError(
            ProofFailure.UNSUPPORTED_ALGORITHM, f"the CSR is signed with {name}; SHA-256 is required"
        )
    public_key = request.public_key()
    try:
        algorithm = key_algorithm(public_key)
    except DeviceKeyError as error:
        raise CertificateRequestError(ProofFailure.UNSUPPORTED_KEY, str(error)) from None
    subject = _subject_common_name(request)
    if expected_subject is not None and subject != expected_subject:
        raise CertificateRequestError(
            ProofFailure.UNEXPECTED_SUBJECT, f"the CSR subject CN is {subject!r}, not {expected_subject!r}"
        )
    return VerifiedCertificateRequest(
        public_key=_as_device_public_key(public_key), algorithm=algorithm, subject_common_name=subject or ""
    )


def _check_certificate_header(header: dict[str, Any], registered_key: DevicePublicKey) -> str | None:
    if "x5c" not in header:
        return None
    certificate = _x5c_certificate(header)
    if not same_public_key(certificate.public_key(), registered_key):
        raise ProofError(ProofFailure.FOREIGN_KEY, "the proof's certificate belongs to another key than this device's")
    return _subject_common_name(certificate)


def _x5c_certificate(header: dict[str, Any]) -> x509.Certificate:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise ProofError(ProofFailure.MALFORMED, "x5c must be a non-empty list of base64 certificates")
    try:
        # RFC 7515 section 4.1.6: standard (not URL-safe) base64 of DER.
        return x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise ProofError(ProofFailure.MALFORMED, "x5c[0] is not a base64 DER certificate") from None


def _subject_common_name(item: x509.Certificate | x509.CertificateSigningRequest) -> str | None:
    names = item.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _load_csr(data: bytes | str) -> x509.CertificateSigningRequest:
    try:
        if isinstance(data, str):
            return x509.load_der_x509_csr(base64.b64decode(data, validate=True))
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except (binascii.Error, ValueError, TypeError):
        raise CertificateRequestError(ProofFailure.MALFORMED, "not a PKCS#10 certificate request") from None


def _as_device_public_key(key: object) -> DevicePublicKey:
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key
    raise CertificateRequestError(ProofFailure.UNSUPPORTED_KEY, f"{type(key).__name__} is not a device key")


def _timestamp(claims: dict[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProofError(ProofFailure.MALFORMED, f"the {name!r} claim is not a number of seconds")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ProofError(ProofFailure.MALFORMED, f"the {name!r} claim is out of range") from None


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now
