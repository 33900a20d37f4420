"""What a directory checks: the registration CSR and device proofs (forged, foreign, stale, replayed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from posturebridge.device.keys import (
    DeviceKey,
    KeyAlgorithm,
    certificate_request_body,
    certificate_signing_request,
    generate_device_key,
    same_public_key,
    sign_device_proof,
)
from posturebridge.device.proof import (
    CertificateRequestError,
    ProofError,
    ProofFailure,
    peek_device_id,
    verify_certificate_request,
    verify_device_proof,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_ENDPOINT = "https://login.microsoftonline.com/contoso.example/oauth2/token"
BROKER = "29d9ed98-a469-4536-ade2-f981bc1d605e"
NONCE = "AwABAAEAAAACAOz_issued-to-this-device"
DEVICE_ID = "6f1c0a52-8f7e-4a0b-9d43-2b1e3c5d7f90"


@pytest.fixture(scope="module", params=list(KeyAlgorithm))
def device_key(request: pytest.FixtureRequest) -> DeviceKey:
    algorithm: KeyAlgorithm = request.param
    return generate_device_key(algorithm)


@pytest.fixture(scope="module")
def other_key(device_key: DeviceKey) -> DeviceKey:
    return generate_device_key(device_key.algorithm)


def _certificate(key: DeviceKey, device_id: str = DEVICE_ID) -> bytes:
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MS-Organization-Access")]))
        .public_key(key.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(issuer_key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def _proof(key: DeviceKey, *, certificate: bytes | None = None, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "nonce": NONCE,
        "audience": TOKEN_ENDPOINT,
        "client_id": BROKER,
        "now": NOW,
    }
    arguments.update(overrides)
    return sign_device_proof(key, device_certificate=certificate, **arguments)  # type: ignore[arg-type]


def _verify(token: str, key: DeviceKey, **overrides: object) -> object:
    arguments: dict[str, object] = {"expected_nonce": NONCE, "audience": TOKEN_ENDPOINT, "now": NOW}
    arguments.update(overrides)
    return verify_device_proof(token, registered_key=key.public_key, **arguments)  # type: ignore[arg-type]


def _refused(token: str, key: DeviceKey, failure: ProofFailure, **overrides: object) -> ProofError:
    with pytest.raises(ProofError) as caught:
        _verify(token, key, **overrides)
    assert caught.value.failure is failure, caught.value
    assert caught.value.error == "invalid_grant"
    return caught.value


def _resign(token: str, key: DeviceKey, **changes: object) -> str:
    """The same proof with altered claims, re-signed by `key`."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    for name in [name for name, value in changes.items() if value is None]:
        del claims[name]
    return jwt.encode(claims, key.private_key, algorithm=key.jws_algorithm, headers=header)


# --- accepted -------------------------------------------------------------------------------------


def test_valid_proof_with_certificate_names_the_device(device_key: DeviceKey) -> None:
    token = _proof(device_key, certificate=_certificate(device_key))
    verified = verify_device_proof(
        token, registered_key=device_key.public_key, expected_nonce=NONCE, audience=TOKEN_ENDPOINT, now=NOW
    )
    assert verified.device_id == DEVICE_ID
    assert verified.client_id == BROKER
    assert verified.nonce == NONCE
    assert verified.audience == TOKEN_ENDPOINT
    assert verified.issued_at == NOW
    assert verified.expires_at == NOW + timedelta(minutes=5)
    assert verified.algorithm is device_key.algorithm
    assert peek_device_id(token) == DEVICE_ID


def test_valid_proof_without_certificate(device_key: DeviceKey) -> None:
    token = _proof(device_key)
    verified = verify_device_proof(
        token,
        registered_key=device_key.public_key,
        expected_nonce=NONCE,
        audience=TOKEN_ENDPOINT,
        now=NOW + timedelta(minutes=4),
    )
    assert verified.device_id is None
    assert peek_device_id(token) is None


# --- forged, foreign --------------------------------------------------------------------------------


def test_forged_signature_is_refused(device_key: DeviceKey) -> None:
    header, payload, signature = _proof(device_key).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    error = _refused(f"{header}.{payload}.{tampered}", device_key, ProofFailure.INVALID_SIGNATURE)
    assert error.aadsts == 50099


def test_altered_claims_are_refused(device_key: DeviceKey) -> None:
    header, _payload, signature = _proof(device_key).split(".")
    other_payload = _proof(device_key, nonce="the attacker's nonce").split(".")[1]
    _refused(f"{header}.{other_payload}.{signature}", device_key, ProofFailure.INVALID_SIGNATURE)


def test_proof_signed_by_another_device_is_refused(device_key: DeviceKey, other_key: DeviceKey) -> None:
    _refused(_proof(other_key), device_key, ProofFailure.INVALID_SIGNATURE)


def test_proof_carrying_another_devices_certificate_is_refused(device_key: DeviceKey, other_key: DeviceKey) -> None:
    token = _proof(other_key, certificate=_certificate(other_key, "someone-else"))
    error = _refused(token, device_key, ProofFailure.FOREIGN_KEY)
    assert "another key" in str(error)


def test_own_certificate_on_a_foreign_signature_is_still_refused(device_key: DeviceKey, other_key: DeviceKey) -> None:
    stolen_header_token = _proof(device_key, certificate=_certificate(device_key))
    forged = _resign(stolen_header_token, other_key)
    _refused(forged, device_key, ProofFailure.INVALID_SIGNATURE)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_algorithm_confusion_is_refused(device_key: DeviceKey, alg: str) -> None:
    claims = jwt.decode(_proof(device_key), options={"verify_signature": False})
    if alg == "none":
        token = jwt.encode(claims, "", algorithm="none")
    else:
        token = jwt.encode(claims, "x" * 32, algorithm="HS256")
    _refused(token, device_key, ProofFailure.UNSUPPORTED_ALGORITHM)


def test_rsa_proof_checked_against_ec_key_is_refused() -> None:
    rsa_key, ec_key = generate_device_key(), generate_device_key(KeyAlgorithm.EC_P256)
    _refused(_proof(rsa_key), ec_key, ProofFailure.UNSUPPORTED_ALGORITHM)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "e30.e30.e30"])
def test_malformed_tokens_are_refused(device_key: DeviceKey, token: str) -> None:
    with pytest.raises(ProofError) as caught:
        _verify(token, device_key)
    assert caught.value.failure in {ProofFailure.MALFORMED, ProofFailure.UNSUPPORTED_ALGORITHM}


def test_bad_x5c_is_malformed(device_key: DeviceKey) -> None:
    token = _proof(device_key)
    claims = jwt.decode(token, options={"verify_signature": False})
    for x5c in ([], ["%%%"], ["AAAA"], "AAAA"):
        bad = jwt.encode(claims, device_key.private_key, algorithm=device_key.jws_algorithm, headers={"x5c": x5c})
        _refused(bad, device_key, ProofFailure.MALFORMED)


# --- nonce, audience, age ---------------------------------------------------------------------------


def test_wrong_nonce_is_refused(device_key: DeviceKey) -> None:
    error = _refused(_proof(device_key, nonce="an older nonce"), device_key, ProofFailure.NONCE_MISMATCH)
    assert error.aadsts == 140000


def test_wrong_audience_is_refused(device_key: DeviceKey) -> None:
    token = _proof(device_key, audience="https://login.microsoftonline.com/fabrikam.example/oauth2/token")
    _refused(token, device_key, ProofFailure.AUDIENCE_MISMATCH)


def test_expired_proof_is_refused(device_key: DeviceKey) -> None:
    token = _proof(device_key)
    error = _refused(token, device_key, ProofFailure.EXPIRED, now=NOW + timedelta(minutes=6))
    assert error.aadsts == 50155


def test_proof_past_its_exp_is_refused_even_within_max_age(device_key: DeviceKey) -> None:
    token = _proof(device_key, lifetime=timedelta(seconds=60))
    _refused(token, device_key, ProofFailure.EXPIRED, now=NOW + timedelta(seconds=120))


def test_old_proof_is_refused_by_max_age_even_with_a_long_exp(device_key: DeviceKey) -> None:
    token = _proof(device_key, lifetime=timedelta(days=1))
    _refused(token, device_key, ProofFailure.EXPIRED, now=NOW + timedelta(hours=1))


def test_proof_from_the_future_is_refused(device_key: DeviceKey) -> None:
    token = _proof(device_key, now=NOW + timedelta(minutes=10))
    _refused(token, device_key, ProofFailure.NOT_YET_VALID)


def test_small_clock_skew_is_tolerated(device_key: DeviceKey) -> None:
    token = _proof(device_key, now=NOW + timedelta(seconds=20))
    _verify(token, device_key)


@pytest.mark.parametrize("claim", ["aud", "request_nonce", "client_id", "iat"])
def test_missing_claims_are_refused(device_key: DeviceKey, claim: str) -> None:
    token = _resign(_proof(device_key), device_key, **{claim: None})
    _refused(token, device_key, ProofFailure.MISSING_CLAIM)


def test_non_numeric_iat_is_malformed(device_key: DeviceKey) -> None:
    token = _resign(_proof(device_key), device_key, iat="1740830400")
    _refused(token, device_key, ProofFailure.MALFORMED)


def test_naive_clock_is_a_caller_error(device_key: DeviceKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(_proof(device_key), device_key, now=datetime(2025, 3, 1, 12, 0))


# --- CSR ------------------------------------------------------------------------------------------


def test_csr_is_verified_in_every_encoding(device_key: DeviceKey) -> None:
    der = certificate_signing_request(device_key)
    pem = x509.load_der_x509_csr(der).public_bytes(Encoding.PEM)
    for data in (der, pem, certificate_request_body(der)["Data"]):
        verified = verify_certificate_request(data)
        assert same_public_key(verified.public_key, device_key.public_key)
        assert verified.algorithm is device_key.algorithm
        assert verified.subject_common_name == "7E980AD9-B86D-4306-9425-9AC066FB014A"
        assert verified.public_key_pem() == device_key.public_key_pem()


def _csr(private_key: object, common_name: str, hash_algorithm: hashes.HashAlgorithm) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    return builder.sign(private_key, hash_algorithm).public_bytes(Encoding.DER)  # type: ignore[arg-type]


def test_csr_with_a_forged_signature_is_refused() -> None:
    # Swap the public key of a valid CSR for another one: the signature no longer matches.
    key, other = generate_device_key(), generate_device_key()
    good = bytearray(certificate_signing_request(key))
    old = key.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    new = other.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert len(old) == len(new)
    forged = bytes(good).replace(old, new)
    with pytest.raises(CertificateRequestError) as caught:
        verify_certificate_request(forged)
    assert caught.value.failure is ProofFailure.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("make_key", "hash_algorithm", "common_name", "failure"),
    [
        (
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
            hashes.SHA256(),
            "7E980AD9-B86D-4306-9425-9AC066FB014A",
            ProofFailure.UNSUPPORTED_KEY,
        ),
        (
            lambda: ec.generate_private_key(ec.SECP384R1()),
            hashes.SHA256(),
            "7E980AD9-B86D-4306-9425-9AC066FB014A",
            ProofFailure.UNSUPPORTED_KEY,
        ),
        (
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            hashes.SHA384(),
            "7E980AD9-B86D-4306-9425-9AC066FB014A",
            ProofFailure.UNSUPPORTED_ALGORITHM,
        ),
        (
            lambda: ec.generate_private_key(ec.SECP256R1()),
            hashes.SHA256(),
            "my-laptop",
            ProofFailure.UNEXPECTED_SUBJECT,
        ),
    ],
)
def test_csr_outside_the_registration_profile_is_refused(
    make_key: object, hash_algorithm: hashes.HashAlgorithm, common_name: str, failure: ProofFailure
) -> None:
    data = _csr(make_key(), common_name, hash_algorithm)  # type: ignore[operator]
    with pytest.raises(CertificateRequestError) as caught:
        verify_certificate_request(data)
    assert caught.value.failure is failure


def test_subject_check_can_be_relaxed() -> None:
    data = _csr(ec.generate_private_key(ec.SECP256R1()), "my-laptop", hashes.SHA256())
    assert verify_certificate_request(data, expected_subject=None).subject_common_name == "my-laptop"


@pytest.mark.parametrize("data", [b"", b"junk", "not base64!", "AAAA", b"-----BEGIN CERTIFICATE REQUEST-----\n"])
def test_garbage_csr_is_malformed(data: bytes | str) -> None:
    with pytest.raises(CertificateRequestError) as caught:
        verify_certificate_request(data)
    assert caught.value.failure is ProofFailure.MALFORMED
