"""msal ConfidentialClientApplication gets app-only tokens with a client secret and with a certificate."""

from __future__ import annotations

import datetime as dt

import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from posturebridge.common.clock import utcnow
from posturebridge.directory import tenants
from posturebridge.directory.models import Application
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.helpers import claims_of

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


def _certificate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contoso automation")])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _grant_user_read_all(server: DirectoryServer, tenant: SeededTenant) -> None:
    with server.session() as session:
        tenant_row = session.get(tenants.Tenant, tenant.id)
        principal = session.get(tenants.ServicePrincipal, tenant.confidential_app.service_principal_id)
        assert tenant_row is not None and principal is not None
        tenants.grant_application_permissions(session, tenant_row, principal, ["User.Read.All"], now=utcnow())
        session.commit()


def _app(server: DirectoryServer, tenant: SeededTenant, credential: object) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        tenant.confidential_app.client_id,
        client_credential=credential,
        authority=server.authority(tenant.id),
        instance_discovery=False,
        http_client=server.msal_http_client(),
    )


def test_client_secret_gets_an_app_token_with_granted_roles(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    _grant_user_read_all(directory_server, tenant)
    result = _app(directory_server, tenant, tenant.confidential_app.secret).acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert claims["azp"] == tenant.confidential_app.client_id
    assert claims["azpacr"] == "1"
    assert claims["roles"] == ["User.Read.All"]


def test_certificate_credential_gets_an_app_token(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    key_pem, certificate_pem = _certificate()
    with directory_server.session() as session:
        application = session.get(Application, tenant.confidential_app.object_id)
        assert application is not None
        row = tenants.add_application_certificate(session, application, certificate_pem=certificate_pem, now=utcnow())
        thumbprint = row.thumbprint
        session.commit()
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    assert thumbprint == certificate.fingerprint(hashes.SHA1()).hex().upper()

    credential = {"private_key": key_pem, "thumbprint": thumbprint}
    result = _app(directory_server, tenant, credential).acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["azpacr"] == "2"


def test_certificate_not_added_to_the_application_is_refused(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    key_pem, certificate_pem = _certificate()
    thumbprint = x509.load_pem_x509_certificate(certificate_pem.encode()).fingerprint(hashes.SHA1()).hex().upper()
    result = _app(
        directory_server, tenant, {"private_key": key_pem, "thumbprint": thumbprint}
    ).acquire_token_for_client(GRAPH_DEFAULT)
    assert result.get("error") == "invalid_client"
    assert 700027 in result["error_codes"]


def test_adding_the_same_certificate_twice_is_refused(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    _, certificate_pem = _certificate()
    with directory_server.session() as session:
        application = session.get(Application, tenant.confidential_app.object_id)
        assert application is not None
        tenants.add_application_certificate(session, application, certificate_pem=certificate_pem, now=utcnow())
        with pytest.raises(tenants.ProvisioningError):
            tenants.add_application_certificate(session, application, certificate_pem=certificate_pem, now=utcnow())
