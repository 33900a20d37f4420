"""The Device Registration Service: discovery, then join/register with a CSR for the device key."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

from posturebridge.device.keys import generate_device_key, same_public_key
from posturebridge.directory.models import Device, DeviceRegisteredPrincipal, DirectoryAudit
from posturebridge.directory.registration.ca import OID_DEVICE_ID
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.helpers import add_windows_mdm_application, drs_token, join_body, register


def test_registration_creates_a_workplace_device_and_returns_its_certificate(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    device = register(directory_server, tenant, tenant.user)
    certificate = x509.load_der_x509_certificate(device.certificate_der)
    assert same_public_key(certificate.public_key(), device.key.public_key)
    assert "CN=MS-Organization-Access" in certificate.issuer.rfc4514_string()
    assert f"OU={tenant.id}" in certificate.issuer.rfc4514_string()
    assert certificate.extensions.get_extension_for_oid(OID_DEVICE_ID) is not None
    assert device.response["Certificate"]["Thumbprint"] == certificate.fingerprint(hashes.SHA1()).hex().upper()
    assert device.response["User"] == {"Upn": tenant.user.upn}

    with directory_server.session() as session:
        row = session.scalars(select(Device).where(Device.device_id == device.device_id)).one()
        assert (row.tenant_id, row.trust_type, row.operating_system, row.operating_system_version) == (
            tenant.id,
            "Workplace",
            "iOS",
            "17.4.1",
        )
        assert row.display_name == "Megan's iPhone" and row.account_enabled
        assert row.device_certificate_thumbprint == device.response["Certificate"]["Thumbprint"]
        assert row.device_public_key_pem == device.key.public_key_pem().decode()
        key = base64.b64decode(row.alternative_security_ids[0]["key"]).decode("utf-16-le")
        assert key.startswith("X509:<SHA1-TP-PUBKEY>" + row.device_certificate_thumbprint)
        links = {
            (link.user_id, link.relationship)
            for link in session.scalars(
                select(DeviceRegisteredPrincipal).where(DeviceRegisteredPrincipal.device_object_id == row.id)
            )
        }
        assert links == {(tenant.user.id, "owner"), (tenant.user.id, "user")}
        audits = {
            (entry.activity_display_name, entry.logged_by_service, entry.category)
            for entry in session.scalars(select(DirectoryAudit).where(DirectoryAudit.tenant_id == tenant.id))
        }
    assert ("Add device", "Core Directory", "Device") in audits
    assert ("Add registered owner to device", "Core Directory", "Device") in audits
    assert ("Add registered users to device", "Core Directory", "Device") in audits


def test_join_makes_an_azure_ad_device_with_its_mdm_application(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    mdm_app_id, _secret = add_windows_mdm_application(directory_server, tenant.id)
    device = register(
        directory_server,
        tenant,
        tenant.user,
        join_type=0,
        DeviceType="Windows",
        OSVersion="10.0.22631.3447",
        Attributes={"MdmAppId": mdm_app_id},
    )
    with directory_server.session() as session:
        row = session.scalars(select(Device).where(Device.device_id == device.device_id)).one()
        assert (row.trust_type, row.mdm_app_id, row.operating_system) == ("AzureAd", mdm_app_id, "Windows")


def test_registration_refuses_missing_or_wrong_tokens_and_bad_requests(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    key = generate_device_key()
    token = drs_token(directory_server, tenant, tenant.user)
    with directory_server.client() as http:
        app_token = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.confidential_app.client_id,
                "client_secret": tenant.confidential_app.secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        no_token = http.post("/EnrollmentServer/device/?api-version=2.0", json=join_body(key))
        graph_token = http.post(
            "/EnrollmentServer/device/", json=join_body(key), headers={"Authorization": f"Bearer {app_token}"}
        )
        tampered = join_body(key)
        tampered["CertificateRequest"]["Data"] = base64.b64encode(b"not a csr").decode()
        bad_csr = http.post("/EnrollmentServer/device/", json=tampered, headers={"Authorization": f"Bearer {token}"})
        hybrid = http.post(
            "/EnrollmentServer/device/", json=join_body(key, join_type=6), headers={"Authorization": f"Bearer {token}"}
        )
        mdm_on_register = http.post(
            "/EnrollmentServer/device/",
            json=join_body(key, Attributes={"MdmAppId": "0000000a-0000-0000-c000-000000000000"}),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert no_token.status_code == 401 and no_token.json()["ErrorType"] == "AuthenticationError"
    assert graph_token.status_code == 401
    assert bad_csr.status_code == 400 and bad_csr.json()["ErrorType"] == "InvalidParameter"
    assert hybrid.status_code == 400 and mdm_on_register.status_code == 400
    assert set(bad_csr.json()) == {"ErrorType", "Message", "TraceId", "Time"}
    with directory_server.session() as session:
        assert session.scalars(select(Device).where(Device.tenant_id == tenant.id)).first() is None


def test_discovery_documents_name_the_join_endpoint(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    with directory_server.client() as http:
        discover = http.get(f"/{tenant.domain}/Discover?api-version=1.9").json()
        contract = http.get(f"/{tenant.id}/enrollmentserver/contract?api-version=1.0").json()
    assert discover == contract
    assert discover["DeviceJoinService"]["JoinEndpoint"] == f"{directory_server.url}/EnrollmentServer/device/"
    assert discover["DeviceJoinService"]["JoinResourceId"] == "urn:ms-drs:enterpriseregistration.windows.net"
    assert discover["TenantInfo"]["TenantId"] == tenant.id
