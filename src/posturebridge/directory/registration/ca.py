"""The tenant's device certificate authority: issues the device certificates the DRS returns.

Entra's device certificates are issued by "MS-Organization-Access" (PKeyAuth ``CertAuthorities``
names it ``OU=<guid>,CN=MS-Organization-Access,DC=windows,DC=net``; device-identity.md §1.4, §3.3).
Here each tenant gets its own CA with that name and ``OU=<tenant id>``, created on first use and
stored in the directory database. Subject of a device certificate: ``CN=<deviceId>``. The DRS
extensions under 1.2.840.113556.1.5.284 carry deviceId, user object id, tenant id and join type
([MS-DVRJ] processing; AADInternals CommonUtils.ps1) — their value encoding is not published; GUIDs
are written as their 16 little-endian .NET bytes and the join type as ASCII (inferred).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posturebridge.device.keys import DevicePublicKey
from posturebridge.directory.models import DeviceCertificateAuthority

DEVICE_CERTIFICATE_LIFETIME = dt.timedelta(days=3650)
_CA_LIFETIME = dt.timedelta(days=7300)
_DRS_OID = "1.2.840.113556.1.5.284"
OID_DEVICE_ID = x509.ObjectIdentifier(f"{_DRS_OID}.2")
OID_USER_ID = x509.ObjectIdentifier(f"{_DRS_OID}.3")
OID_TENANT_ID = x509.ObjectIdentifier(f"{_DRS_OID}.5")
OID_JOIN_TYPE = x509.ObjectIdentifier(f"{_DRS_OID}.7")


@dataclass(frozen=True)
class DeviceCA:
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def name(self) -> str:
        """The CA's distinguished name as PKeyAuth's CertAuthorities lists it (RFC 4514, most specific first)."""
        return self.certificate.subject.rfc4514_string()

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether this CA signed ``certificate``."""
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


def _ca_name(tenant_id: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "net"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "windows"),
            x509.NameAttribute(NameOID.COMMON_NAME, "MS-Organization-Access"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tenant_id),
        ]
    )


def _load(row: DeviceCertificateAuthority) -> DeviceCA:
    key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return DeviceCA(x509.load_pem_x509_certificate(row.certificate_pem.encode()), key)


def find_device_ca(session: Session, tenant_id: str) -> DeviceCA | None:
    row = session.get(DeviceCertificateAuthority, tenant_id)
    return _load(row) if row is not None else None


def device_ca(session: Session, tenant_id: str, *, now: dt.datetime) -> DeviceCA:
    """The tenant's device CA, created on first use (in a savepoint, so a concurrent creator wins cleanly)."""
    existing = find_device_ca(session, tenant_id)
    if existing is not None:
        return existing
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _ca_name(tenant_id)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    row = DeviceCertificateAuthority(
        tenant_id=tenant_id,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        created_date_time=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = find_device_ca(session, tenant_id)
        assert winner is not None
        return winner
    return DeviceCA(certificate, key)


def issue_device_certificate(
    ca: DeviceCA,
    public_key: DevicePublicKey,
    *,
    device_id: str,
    user_id: str,
    tenant_id: str,
    joined: bool,
    now: dt.datetime,
) -> x509.Certificate:
    """A client-authentication certificate for the device key, subject ``CN=<deviceId>``."""
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise TypeError("a device key is RSA or EC")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + DEVICE_CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()), critical=False)
        .add_extension(x509.UnrecognizedExtension(OID_DEVICE_ID, uuid.UUID(device_id).bytes_le), critical=False)
        .add_extension(x509.UnrecognizedExtension(OID_USER_ID, uuid.UUID(user_id).bytes_le), critical=False)
        .add_extension(x509.UnrecognizedExtension(OID_TENANT_ID, uuid.UUID(tenant_id).bytes_le), critical=False)
        .add_extension(x509.UnrecognizedExtension(OID_JOIN_TYPE, b"1" if joined else b"0"), critical=False)
    )
    return builder.sign(ca.private_key, hashes.SHA256())
