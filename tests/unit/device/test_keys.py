"""Device key: generation, PEM round trip, registration CSR and the signed proof's wire shape."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from posturebridge.device.keys import (
    REGISTRATION_CSR_COMMON_NAME,
    DeviceKey,
    DeviceKeyError,
    KeyAlgorithm,
    certificate_request_body,
    certificate_signing_request,
    generate_device_key,
    load_private_key_pem,
    load_public_key_pem,
    private_key_to_pem,
    same_public_key,
    sign_device_proof,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_ENDPOINT = "https://login.microsoftonline.com/contoso.example/oauth2/token"
BROKER = "29d9ed98-a469-4536-ade2-f981bc1d605e"


@pytest.fixture(scope="module", params=list(KeyAlgorithm))
def device_key(request: pytest.FixtureRequest) -> DeviceKey:
    algorithm: KeyAlgorithm = request.param
    return generate_device_key(algorithm)


def test_generated_keys_have_the_documented_types() -> None:
    rsa_key = generate_device_key()
    assert isinstance(rsa_key.private_key, rsa.RSAPrivateKey)
    assert rsa_key.private_key.key_size == 2048
    assert (rsa_key.algorithm, rsa_key.jws_algorithm) == (KeyAlgorithm.RSA_2048, "RS256")
    ec_key = generate_device_key(KeyAlgorithm.EC_P256)
    assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ec_key.private_key.curve, ec.SECP256R1)
    assert (ec_key.algorithm, ec_key.jws_algorithm) == (KeyAlgorithm.EC_P256, "ES256")


def test_other_key_types_and_sizes_are_refused() -> None:
    with pytest.raises(DeviceKeyError, match="2048 bits, not 1024"):
        DeviceKey(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(DeviceKeyError, match="P-256, not secp384r1"):
        DeviceKey(ec.generate_private_key(ec.SECP384R1()))


def test_pem_round_trip(device_key: DeviceKey) -> None:
    pem = private_key_to_pem(device_key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key_pem(pem)
    assert loaded.algorithm is device_key.algorithm
    assert same_public_key(loaded.public_key, device_key.public_key)
    assert same_public_key(load_public_key_pem(device_key.public_key_pem()), device_key.public_key)


def test_encrypted_pem_needs_the_right_passphrase(device_key: DeviceKey) -> None:
    pem = private_key_to_pem(device_key, passphrase=b"state-file secret")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert same_public_key(load_private_key_pem(pem, passphrase=b"state-file secret").public_key, device_key.public_key)
    with pytest.raises(DeviceKeyError, match="wrong passphrase"):
        load_private_key_pem(pem, passphrase=b"guess")
    with pytest.raises(DeviceKeyError):
        load_private_key_pem(pem)


@pytest.mark.parametrize("blob", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_garbage_pem_is_refused(blob: bytes) -> None:
    with pytest.raises(DeviceKeyError):
        load_private_key_pem(blob)
    with pytest.raises(DeviceKeyError):
        load_public_key_pem(blob)


def test_csr_has_the_fixed_subject_sha256_and_the_device_key(device_key: DeviceKey) -> None:
    der = certificate_signing_request(device_key)
    csr = x509.load_der_x509_csr(der)
    assert csr.is_signature_valid
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    [common_name] = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert common_name.value == REGISTRATION_CSR_COMMON_NAME == "7E980AD9-B86D-4306-9425-9AC066FB014A"
    assert len(csr.subject) == 1
    assert same_public_key(csr.public_key(), device_key.public_key)


def test_certificate_request_body_is_the_join_wire_shape() -> None:
    key = generate_device_key()
    der = certificate_signing_request(key)
    body = certificate_request_body(der)
    assert body == {"Type": "pkcs10", "Data": base64.b64encode(der).decode()}
    ec_body = certificate_request_body(der, KeyAlgorithm.EC_P256)
    assert ec_body["KeyType"] == "ECC"


def _certificate_for(key: DeviceKey, device_id: str) -> bytes:
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


def test_proof_header_and_claims(device_key: DeviceKey) -> None:
    certificate = _certificate_for(device_key, "6f1c0a52-8f7e-4a0b-9d43-2b1e3c5d7f90")
    token = sign_device_proof(
        device_key,
        nonce="AwABAAEAAAACAOz_BAD0_nonce",
        audience=TOKEN_ENDPOINT,
        client_id=BROKER,
        now=NOW,
        device_certificate=certificate,
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == device_key.jws_algorithm
    assert header["typ"] == "JWT"
    assert header["x5c"] == [base64.b64encode(certificate).decode()]
    claims = jwt.decode(
        token,
        device_key.public_key,
        algorithms=[device_key.jws_algorithm],
        options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
    )
    assert claims == {
        "aud": TOKEN_ENDPOINT,
        "iss": BROKER,
        "client_id": BROKER,
        "request_nonce": "AwABAAEAAAACAOz_BAD0_nonce",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
    }


def test_proof_without_certificate_has_no_x5c() -> None:
    key = generate_device_key()
    token = sign_device_proof(key, nonce="n", audience=TOKEN_ENDPOINT, client_id=BROKER, now=NOW)
    assert "x5c" not in jwt.get_unverified_header(token)


def test_signing_refuses_a_certificate_for_another_key() -> None:
    key, other = generate_device_key(), generate_device_key(KeyAlgorithm.EC_P256)
    with pytest.raises(DeviceKeyError, match="another key"):
        sign_device_proof(
            key,
            nonce="n",
            audience=TOKEN_ENDPOINT,
            client_id=BROKER,
            now=NOW,
            device_certificate=_certificate_for(other, "x"),
        )
    with pytest.raises(DeviceKeyError, match="not DER"):
        sign_device_proof(
            key, nonce="n", audience=TOKEN_ENDPOINT, client_id=BROKER, now=NOW, device_certificate=b"junk"
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nonce", "", "nonce must be"),
        ("audience", "", "audience must be"),
        ("client_id", "", "client_id must be"),
        ("now", datetime(2025, 3, 1, 12, 0), "timezone-aware"),
        ("lifetime", timedelta(0), "lifetime must be positive"),
    ],
)
def test_signing_refuses_bad_arguments(field: str, value: object, message: str) -> None:
    arguments: dict[str, object] = {"nonce": "n", "audience": TOKEN_ENDPOINT, "client_id": BROKER, "now": NOW}
    arguments[field] = value
    with pytest.raises(DeviceKeyError, match=message):
        sign_device_proof(generate_device_key(KeyAlgorithm.EC_P256), **arguments)  # type: ignore[arg-type]
