"""``/devices``: list, get (by object id or the ``deviceId`` alternate key), update, delete, owners.

Rules from learn.microsoft.com/graph/api/device-update: app-only callers may update only
``extensionAttributes`` of non-Windows devices; ``isCompliant``/``isManaged`` are written only by Intune
(here: the partner compliance channel, ``directory/intune``) or by the tenant's MDM application (one with a
mobileDeviceManagementPolicy) for Windows devices whose ``mdmAppId`` is that application; anyone else gets
403 ``Authorization_RequestDenied``. Every write leaves a directory audit entry (Core Directory / Device).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from posturebridge.common.clock import graph_datetime
from posturebridge.directory.audit import Change, Initiator, Target, record
from posturebridge.directory.graph import body as bodies
from posturebridge.directory.graph.core import Caller, GraphRequest, context_url, json_response
from posturebridge.directory.graph.errors import access_denied, not_found
from posturebridge.directory.graph.listing import count_only, list_page, project
from posturebridge.directory.graph.odata import DEVICE, JsonArray, ResourceCatalogue, parse_query
from posturebridge.directory.graph.users import render as render_user
from posturebridge.directory.models import Device, DeviceRegisteredPrincipal, MobilityManagementPolicy, User

READ = ("Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
WRITE = ("Device.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
EXTENSION_ATTRIBUTES = [f"extensionAttribute{n}" for n in range(1, 16)]

_c = Device.__table__.c
CATALOGUE = ResourceCatalogue.bind(
    DEVICE,
    id_column=_c.id,
    storage={
        "accountEnabled": _c.account_enabled,
        "approximateLastSignInDateTime": _c.approximate_last_sign_in_date_time,
        "complianceExpirationDateTime": _c.compliance_expiration_date_time,
        "createdDateTime": _c.created_date_time,
        "deviceCategory": _c.device_category,
        "deviceId": _c.device_id,
        "deviceOwnership": _c.device_ownership,
        "displayName": _c.display_name,
        "enrollmentProfileName": _c.enrollment_profile_name,
        "enrollmentType": _c.enrollment_type,
        "isCompliant": _c.is_compliant,
        "isManaged": _c.is_managed,
        "isRooted": _c.is_rooted,
        "managementType": _c.management_type,
        "manufacturer": _c.manufacturer,
        "mdmAppId": _c.mdm_app_id,
        "model": _c.model,
        "operatingSystem": _c.operating_system,
        "operatingSystemVersion": _c.operating_system_version,
        "physicalIds": JsonArray(_c.physical_ids),
        "profileType": _c.profile_type,
        "registrationDateTime": _c.registration_date_time,
        "systemLabels": JsonArray(_c.system_labels),
        "trustType": _c.trust_type,
        **{f"extensionAttributes/{name}": _c.extension_attributes[name].as_string() for name in EXTENSION_ATTRIBUTES},
    },
)

FIELDS = {
    "accountEnabled": bodies.Field(bodies.boolean()),
    "displayName": bodies.Field(bodies.string(256)),
    "operatingSystem": bodies.Field(bodies.string(64)),
    "operatingSystemVersion": bodies.Field(bodies.string(64)),
    "extensionAttributes": bodies.Field(bodies.extension_attributes),
    "isCompliant": bodies.Field(bodies.boolean()),
    "isManaged": bodies.Field(bodies.boolean()),
    "deviceCategory": bodies.Field(bodies.string(256, nullable=True)),
    "deviceOwnership": bodies.Field(bodies.one_of("unknown", "company", "personal")),
    **{
        name: bodies.Field(lambda _value: True, read_only=True)
        for name in (
            "id", "deviceId", "trustType", "mdmAppId", "registrationDateTime", "approximateLastSignInDateTime",
            "complianceExpirationDateTime", "createdDateTime", "deletedDateTime", "physicalIds", "systemLabels",
            "alternativeSecurityIds", "isRooted", "managementType", "manufacturer", "model", "profileType",
            "onPremisesSyncEnabled", "onPremisesLastSyncDateTime", "enrollmentType", "enrollmentProfileName",
        )
    },
}  # fmt: skip
COLUMNS = {
    "accountEnabled": "account_enabled",
    "displayName": "display_name",
    "operatingSystem": "operating_system",
    "operatingSystemVersion": "operating_system_version",
    "isCompliant": "is_compliant",
    "isManaged": "is_managed",
    "deviceCategory": "device_category",
    "deviceOwnership": "device_ownership",
}


def render(device: Device | Row[Any], *, beta: bool = False) -> dict[str, Any]:
    """The device (an entity, or a row of the devices table) as Graph returns it (all v1.0 properties; beta
    adds its own)."""
    item: dict[str, Any] = {
        "id": device.id,
        "deletedDateTime": None,
        "accountEnabled": device.account_enabled,
        "approximateLastSignInDateTime": graph_datetime(device.approximate_last_sign_in_date_time),
        "complianceExpirationDateTime": graph_datetime(device.compliance_expiration_date_time),
        "createdDateTime": graph_datetime(device.created_date_time),
        "deviceCategory": device.device_category,
        "deviceId": device.device_id,
        "deviceMetadata": None,
        "deviceOwnership": device.device_ownership,
        "deviceVersion": 2,
        "displayName": device.display_name,
        "enrollmentProfileName": device.enrollment_profile_name,
        "enrollmentType": device.enrollment_type,
        "isCompliant": device.is_compliant,
        "isManaged": device.is_managed,
        "isManagementRestricted": False,
        "isRooted": device.is_rooted,
        "managementType": device.management_type,
        "manufacturer": device.manufacturer,
        "mdmAppId": device.mdm_app_id,
        "model": device.model,
        "onPremisesLastSyncDateTime": None,
        "onPremisesSecurityIdentifier": None,
        "onPremisesSyncEnabled": None,
        "operatingSystem": device.operating_system,
        "operatingSystemVersion": device.operating_system_version,
        "physicalIds": list(device.physical_ids or []),
        "profileType": device.profile_type,
        "registrationDateTime": graph_datetime(device.registration_date_time),
        "systemLabels": list(device.system_labels or []),
        "trustType": device.trust_type,
        "extensionAttributes": {name: (device.extension_attributes or {}).get(name) for name in EXTENSION_ATTRIBUTES},
        "alternativeSecurityIds": list(device.alternative_security_ids or []),
    }
    if beta:
        item.update({"hostnames": [], "kind": None, "name": None, "platform": None, "status": None, "domainName": None})
    return item


def columns_from_graph(document: dict[str, Any]) -> dict[str, Any]:
    """Device columns from a Graph device object (an export from a real tenant, or a docs sample)."""

    def moment(name: str) -> dt.datetime | None:
        value = document.get(name)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None

    attributes = {key: value for key, value in (document.get("extensionAttributes") or {}).items() if value is not None}
    return {
        "id": str(document["id"]).lower(),
        "device_id": str(document["deviceId"]).lower(),
        "display_name": document.get("displayName") or "",
        "account_enabled": document.get("accountEnabled", True),
        "operating_system": document.get("operatingSystem"),
        "operating_system_version": document.get("operatingSystemVersion"),
        "trust_type": document.get("trustType"),
        "is_compliant": document.get("isCompliant"),
        "is_managed": document.get("isManaged"),
        "is_rooted": document.get("isRooted"),
        "mdm_app_id": document.get("mdmAppId"),
        "management_type": document.get("managementType"),
        "device_ownership": document.get("deviceOwnership"),
        "enrollment_type": document.get("enrollmentType"),
        "enrollment_profile_name": document.get("enrollmentProfileName"),
        "device_category": document.get("deviceCategory"),
        "manufacturer": document.get("manufacturer"),
        "model": document.get("model"),
        "profile_type": document.get("profileType"),
        "registration_date_time": moment("registrationDateTime"),
        "approximate_last_sign_in_date_time": moment("approximateLastSignInDateTime"),
        "compliance_expiration_date_time": moment("complianceExpirationDateTime"),
        "created_date_time": moment("createdDateTime") or moment("registrationDateTime"),
        "extension_attributes": attributes,
        "physical_ids": list(document.get("physicalIds") or []),
        "system_labels": list(document.get("systemLabels") or []),
        "alternative_security_ids": list(document.get("alternativeSecurityIds") or []),
    }


def _tenant_devices(ctx: GraphRequest) -> Select[Any]:
    return select(Device).where(Device.tenant_id == ctx.caller.tenant_id)


# deviceId is unique in a tenant and stored lower-cased: one index probe, a Core statement built once (a
# third of the ORM's cost per call; render reads a row as it reads a Device).
_BY_DEVICE_ID = select(Device.__table__).where(
    _c.tenant_id == bindparam("tenant_id"), _c.device_id == bindparam("device_id")
)


def device_id_page(
    connection: Connection, caller: Caller, version: str, device_id: str, selected: tuple[str, ...] | None
) -> dict[str, Any]:
    """The page ``GET /devices?$filter=deviceId eq '…'`` answers, as ``list_page`` builds it: the caller's
    tenant's device with this deviceId (any case) or none, so never a nextLink. Served by ``fastpath.py``."""
    row = connection.execute(_BY_DEVICE_ID, {"tenant_id": caller.tenant_id, "device_id": device_id.lower()}).first()
    value = [] if row is None else [project(render(row, beta=version == "beta"), selected, None)]
    return {"@odata.context": context_url(version, "devices"), "value": value}


def find(ctx: GraphRequest, *, object_id: str | None = None, device_id: str | None = None) -> Device:
    statement = _tenant_devices(ctx)
    if object_id is not None:
        statement = statement.where(Device.id == object_id)
        shown = object_id
    else:
        statement = statement.where(Device.device_id == device_id)
        shown = f"deviceId='{device_id}'"
    device: Device | None = ctx.session.scalars(statement).first()
    if device is None:
        raise not_found(
            f"Resource '{shown}' does not exist or one of its queried reference-property objects are not present."
        )
    return device


def is_tenant_mdm_application(ctx: GraphRequest, device: Device, is_windows: bool) -> bool:
    """Whether the caller is "the tenant's MDM application" for this device: the device runs Windows, its
    ``mdmAppId`` is the caller's appId, and the tenant has a mobileDeviceManagementPolicy for that appId
    (the app was added under Mobility (MDM and MAM); learn.microsoft.com/graph/api/resources/
    mobilitymanagementpolicy, graph-facts.md §8). Non-Windows devices are written by Intune only, which here
    is the partner compliance channel (``directory/intune``)."""
    caller_app = ctx.caller.app_id
    if not is_windows or not caller_app or device.mdm_app_id != caller_app:
        return False
    policy = ctx.session.get(MobilityManagementPolicy, (device.tenant_id, "mdm", caller_app))
    return policy is not None


def update(ctx: GraphRequest, device: Device, changes: dict[str, Any]) -> None:
    """Apply a validated PATCH, enforcing who may write what, and audit it."""
    caller = ctx.caller
    is_windows = (device.operating_system or "").lower().startswith("windows")
    if caller.is_app_only and not is_windows and set(changes) - {"extensionAttributes"}:
        raise access_denied()
    if {"isCompliant", "isManaged"} & set(changes) and not is_tenant_mdm_application(ctx, device, is_windows):
        raise access_denied()
    audit_changes: list[Change] = []
    for name, value in changes.items():
        if name == "extensionAttributes":
            merged = dict(device.extension_attributes or {})
            for key, item in value.items():
                if not key.startswith("@"):
                    merged[key] = item
            if merged != (device.extension_attributes or {}):
                audit_changes.append(Change("ExtensionAttributes", device.extension_attributes, merged))
            device.extension_attributes = merged
            continue
        column = COLUMNS[name]
        old = getattr(device, column)
        if old != value:
            audit_changes.append(Change(name[0].upper() + name[1:], old, value))
        setattr(device, column, value)
    record_update(ctx, device, audit_changes)


def record_update(ctx: GraphRequest, device: Device, changes: list[Change]) -> None:
    record_device_update(ctx.session, device, changes, initiated_by=ctx.initiator(), now=ctx.now)


def record_device_update(
    session: Session,
    device: Device,
    changes: list[Change],
    *,
    initiated_by: Initiator,
    now: dt.datetime,
    additional_details: dict[str, str] | None = None,
) -> None:
    """ "Update device" with the modified properties, plus "Device no longer compliant" / "Device no longer
    managed" when those flip from true to false (Entra's Core Directory activities). The partner compliance
    channel writes through here too, initiated by Intune."""
    if not changes:
        return
    target = Target(device.id, device.display_name, "Device", changes=tuple(changes))
    record(
        session,
        tenant_id=device.tenant_id,
        activity="Update device",
        category="Device",
        operation_type="Update",
        initiated_by=initiated_by,
        targets=[target],
        now=now,
        additional_details=additional_details,
    )
    for change, activity in (("IsCompliant", "Device no longer compliant"), ("IsManaged", "Device no longer managed")):
        if any(c.name == change and c.old is True and c.new is False for c in changes):
            record(
                session,
                tenant_id=device.tenant_id,
                activity=activity,
                category="Device",
                operation_type="Update",
                initiated_by=initiated_by,
                targets=[Target(device.id, device.display_name, "Device")],
                now=now,
                additional_details=additional_details,
            )


def register(api: APIRouter, context: Any) -> None:
    """Add the /devices routes to ``api``; ``context`` is the dependency that yields a GraphRequest."""

    @api.get("/devices")
    def list_devices(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        body = list_page(ctx, CATALOGUE, _tenant_devices(ctx), lambda d: render(d, beta=ctx.beta), "devices")
        return json_response(ctx.request, body)

    @api.get("/devices/$count")
    def count_devices(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        value = count_only(ctx, CATALOGUE, _tenant_devices(ctx))
        return Response(str(value), media_type="text/plain", headers={"OData-Version": "4.0"})

    def _get(ctx: GraphRequest, device: Device) -> Response:
        q = parse_query(
            {k: v for k, v in ctx.request.query_params.items() if k == "$select"},
            consistency_level=None,
            catalogue=CATALOGUE,
            signing_key=ctx.directory.skiptoken_key,
        )
        item = project(render(device, beta=ctx.beta), q.select, None)
        return json_response(ctx.request, {"@odata.context": ctx.context_url("devices/$entity"), **item})

    @api.get("/devices/{object_id}")
    def get_device(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        return _get(ctx, find(ctx, object_id=object_id))

    @api.get("/devices(deviceId='{device_id}')")
    def get_device_by_device_id(device_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        return _get(ctx, find(ctx, device_id=device_id))

    async def _patch(request: Request, ctx: GraphRequest, object_id: str | None, device_id: str | None) -> Response:
        ctx.caller.require(*WRITE)
        changes = bodies.validate(await bodies.read_json(request), FIELDS, "Device")
        device = find(ctx, object_id=object_id, device_id=device_id)
        update(ctx, device, changes)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.patch("/devices/{object_id}")
    async def patch_device(object_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        return await _patch(request, ctx, object_id, None)

    @api.patch("/devices(deviceId='{device_id}')")
    async def patch_device_by_device_id(
        device_id: str, request: Request, ctx: GraphRequest = Depends(context)
    ) -> Response:
        return await _patch(request, ctx, None, device_id)

    def _delete(ctx: GraphRequest, device: Device) -> Response:
        ctx.caller.require(*WRITE)
        record(
            ctx.session,
            tenant_id=device.tenant_id,
            activity="Delete device",
            category="Device",
            operation_type="Delete",
            initiated_by=ctx.initiator(),
            targets=[Target(device.id, device.display_name, "Device")],
            now=ctx.now,
        )
        ctx.session.delete(device)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete("/devices/{object_id}")
    def delete_device(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        return _delete(ctx, find(ctx, object_id=object_id))

    @api.delete("/devices(deviceId='{device_id}')")
    def delete_device_by_device_id(device_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        return _delete(ctx, find(ctx, device_id=device_id))

    for relationship, segment in (("owner", "registeredOwners"), ("user", "registeredUsers")):

        def principals(object_id: str, ctx: GraphRequest = Depends(context), _kind: str = relationship) -> Response:
            ctx.caller.require(*READ)
            device = find(ctx, object_id=object_id)
            users = ctx.session.scalars(
                select(User)
                .join(DeviceRegisteredPrincipal, DeviceRegisteredPrincipal.user_id == User.id)
                .where(
                    DeviceRegisteredPrincipal.device_object_id == device.id,
                    DeviceRegisteredPrincipal.relationship == _kind,
                )
            )
            value = [{"@odata.type": "#microsoft.graph.user", **render_user(user)} for user in users]
            return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryObjects"), "value": value})

        api.add_api_route(f"/devices/{{object_id}}/{segment}", principals, methods=["GET"])
