"""Device join and registration: a signed-in user's CSR in, a device object and a device certificate out.

Wire shape of the request ([MS-DVRJ] join request body; himmelblau aad-join-spec; ROADtools
deviceauth.py; device-identity.md §1.3): JSON ``CertificateRequest`` {``Type`` "pkcs10", ``Data``
base64 DER PKCS#10 over the device key}, ``TransportKey``, ``TargetDomain``, ``DeviceType`` (the OS),
``OSVersion``, ``DeviceDisplayName``, ``JoinType`` (0 Entra join, 4 Entra registration) and optional
``Attributes``. The response ([MS-DVRJ] join response): ``Certificate`` {``Thumbprint`` SHA-1 upper
hex, ``RawBody`` base64 DER}, ``User`` {``Upn``}, ``MembershipChanges``. Errors: ``ErrorType``,
``Message``, ``TraceId``, ``Time`` ([MS-DVRJ] ErrorDetails; types from [MS-DVRE]).

The device object: trustType Workplace (registered) or AzureAd (joined), profileType
RegisteredDevice, the registering user as registered owner and registered user, the device key and
the certificate thumbprint for later proofs, alternativeSecurityIds as Graph shows them
(device-identity.md §4). ``MdmAppId`` in ``Attributes`` (joined devices only) records the MDM
application a Windows device was joined through — the join body has no documented field for it, so
this name is ours. The tenant's mobility (MDM) policy for that application decides whether the user may
join through it, as the portal's "MDM user scope" does: ``appliesTo`` all, or selected with the user in one
of its groups (transitively); none, no policy, or a user outside its groups is refused with an
``AuthorizationError`` naming the reason (graph-facts.md §8).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from posturebridge.common.ids import is_guid
from posturebridge.device.proof import CertificateRequestError, verify_certificate_request
from posturebridge.directory.audit import Initiator, Target, record
from posturebridge.directory.models import Device, DeviceRegisteredPrincipal, MobilityManagementPolicy, Tenant, User
from posturebridge.directory.registration.ca import device_ca, issue_device_certificate
from posturebridge.directory.signins import user_identity
from posturebridge.directory.tenants import certificate_thumbprint, public_key_hash

JOIN_TYPE_JOINED = 0
JOIN_TYPE_REGISTERED = 4
TRUST_TYPES = {JOIN_TYPE_JOINED: "AzureAd", JOIN_TYPE_REGISTERED: "Workplace"}


class RegistrationError(Exception):
    """A refused join request, in [MS-DVRJ] ErrorDetails terms."""

    def __init__(self, error_type: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status_code = status_code

    def body(self, now: dt.datetime) -> dict[str, str]:
        return {
            "ErrorType": self.error_type,
            "Message": self.message,
            "TraceId": str(uuid.uuid4()),
            "Time": now.astimezone(dt.UTC).strftime("%m-%d-%Y %H:%M:%SZ"),
        }


def invalid(message: str) -> RegistrationError:
    return RegistrationError("InvalidParameter", message)


@dataclass(frozen=True)
class JoinRequest:
    certificate_request: str
    device_type: str
    os_version: str
    display_name: str
    join_type: int
    transport_key: str | None
    target_domain: str | None
    mdm_app_id: str | None


def _text(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 256) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"The request is missing the required parameter '{name}'.")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(f"The parameter '{name}' must be a string of at most {limit} characters.")
    return value


def parse_join_request(body: Any) -> JoinRequest:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    certificate_request = body.get("CertificateRequest")
    if not isinstance(certificate_request, dict) or certificate_request.get("Type") != "pkcs10":
        raise invalid("CertificateRequest must be an object with Type 'pkcs10' and base64 Data.")
    data = certificate_request.get("Data")
    if not isinstance(data, str) or not data:
        raise invalid("CertificateRequest.Data must be the base64 DER PKCS#10 request.")
    join_type = body.get("JoinType")
    if isinstance(join_type, str) and join_type.isdigit():
        join_type = int(join_type)
    if join_type not in TRUST_TYPES:
        raise invalid(f"JoinType {join_type!r} is not supported: 0 (Entra join) or 4 (Entra registration).")
    attributes = body.get("Attributes") or body.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise invalid("Attributes must be an object.")
    mdm_app_id = attributes.get("MdmAppId")
    if mdm_app_id is not None:
        if join_type != JOIN_TYPE_JOINED:
            raise invalid("MdmAppId is only accepted when joining a device (JoinType 0).")
        if not isinstance(mdm_app_id, str) or not is_guid(mdm_app_id.lower()):
            raise invalid("MdmAppId must be the application id (a GUID) of the MDM application.")
    return JoinRequest(
        certificate_request=data,
        device_type=str(_text(body, "DeviceType", limit=64)),
        os_version=str(_text(body, "OSVersion", limit=64)),
        display_name=str(_text(body, "DeviceDisplayName")),
        join_type=int(join_type),
        transport_key=_text(body, "TransportKey", required=False, limit=8192),
        target_domain=_text(body, "TargetDomain", required=False),
        mdm_app_id=mdm_app_id.lower() if isinstance(mdm_app_id, str) else None,
    )


@dataclass(frozen=True)
class RegisteredDevice:
    device: Device
    certificate: x509.Certificate
    user: User

    def response(self) -> dict[str, Any]:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "Certificate": {
                "Thumbprint": certificate_thumbprint(self.certificate),
                "RawBody": base64.b64encode(der).decode(),
            },
            "User": {"Upn": self.user.user_principal_name},
            # Cloud DRS answers with SIDs for local groups of joined Windows devices; we have no SIDs to add.
            "MembershipChanges": [],
        }


def _alternative_security_id(certificate: x509.Certificate) -> dict[str, Any]:
    # "X509:<SHA1-TP-PUBKEY>" + thumbprint + base64 SHA-256 of the public key, stored as base64 of
    # its UTF-16LE bytes with type 2 (device-identity.md §4; AADInternals PRT.ps1).
    value = f"X509:<SHA1-TP-PUBKEY>{certificate_thumbprint(certificate)}{public_key_hash(certificate)}"
    return {"type": 2, "identityProvider": None, "key": base64.b64encode(value.encode("utf-16-le")).decode()}


def check_mdm_user_scope(session: Session, tenant: Tenant, user: User, mdm_app_id: str) -> MobilityManagementPolicy:
    """The tenant's MDM policy for ``mdm_app_id`` if it applies to ``user``; RegistrationError otherwise."""
    policy = session.get(MobilityManagementPolicy, (tenant.id, "mdm", mdm_app_id))
    if policy is None:
        raise RegistrationError(
            "AuthorizationError", f"The application {mdm_app_id} is not an MDM application of this tenant.", 403
        )
    if policy.applies_to == "all":
        return policy
    if policy.applies_to == "selected" and set(policy.included_groups or ()) & user_identity(session, user).group_ids:
        return policy
    scope = "no users" if policy.applies_to == "none" else "only members of its groups"
    raise RegistrationError(
        "AuthorizationError",
        f"The MDM user scope of '{policy.display_name}' includes {scope}; "
        f"{user.user_principal_name} cannot join a device through it.",
        403,
    )


def register_device(
    session: Session,
    tenant: Tenant,
    user: User,
    request: JoinRequest,
    *,
    initiated_by: Initiator,
    now: dt.datetime,
) -> RegisteredDevice:
    """Create the device, its owner and user links, its certificate and the audit entries; caller commits."""
    if request.mdm_app_id is not None:
        check_mdm_user_scope(session, tenant, user, request.mdm_app_id)
    try:
        verified = verify_certificate_request(request.certificate_request)
    except CertificateRequestError as error:
        raise invalid(f"The certificate request is invalid: {error}") from None
    device_id = str(uuid.uuid4())
    joined = request.join_type == JOIN_TYPE_JOINED
    certificate = issue_device_certificate(
        device_ca(session, tenant.id, now=now),
        verified.public_key,
        device_id=device_id,
        user_id=user.id,
        tenant_id=tenant.id,
        joined=joined,
        now=now,
    )
    device = Device(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        device_id=device_id,
        display_name=request.display_name,
        account_enabled=True,
        operating_system=request.device_type,
        operating_system_version=request.os_version,
        trust_type=TRUST_TYPES[request.join_type],
        profile_type="RegisteredDevice",
        mdm_app_id=request.mdm_app_id,
        registration_date_time=now,
        created_date_time=now,
        extension_attributes={},
        physical_ids=[],
        system_labels=[],
        alternative_security_ids=[_alternative_security_id(certificate)],
        device_public_key_pem=verified.public_key_pem().decode(),
        device_certificate_thumbprint=certificate_thumbprint(certificate),
    )
    session.add(device)
    session.flush()
    for relationship in ("owner", "user"):
        session.add(DeviceRegisteredPrincipal(device_object_id=device.id, user_id=user.id, relationship=relationship))
    target = Target(device.id, device.display_name, "Device")
    for activity, service, operation in (
        ("Register device", "Device Registration Service", "Add"),
        ("Add device", "Core Directory", "Add"),
        ("Add registered owner to device", "Core Directory", "Assign"),
        ("Add registered users to device", "Core Directory", "Assign"),
    ):
        record(
            session,
            tenant_id=tenant.id,
            activity=activity,
            category="Device",
            operation_type=operation,
            initiated_by=initiated_by,
            targets=[target, Target(user.id, user.display_name, "User", user.user_principal_name)]
            if operation == "Assign"
            else [target],
            now=now,
            service=service,
            additional_details={
                "Device Id": device_id,
                "Device OS": request.device_type,
                "Device Trust Type": device.trust_type or "",
            },
        )
    session.flush()
    return RegisteredDevice(device, certificate, user)
