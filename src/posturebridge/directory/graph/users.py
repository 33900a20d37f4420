"""``/users``: list, get (by id or userPrincipalName), create, update, delete, licences and memberships.

Without ``$select`` Graph returns a default set of user properties (learn.microsoft.com/graph/api/
user-list: businessPhones, displayName, givenName, jobTitle, mail, mobilePhone, officeLocation,
preferredLanguage, surname, userPrincipalName, id); other properties need ``$select``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Select, select

from posturebridge.common.clock import graph_datetime
from posturebridge.directory import catalog, tenants
from posturebridge.directory.audit import Change, Target, record
from posturebridge.directory.graph import body as bodies
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import bad_request, not_found
from posturebridge.directory.graph.listing import list_page, project
from posturebridge.directory.graph.odata import USER, ChildRows, ResourceCatalogue, parse_query
from posturebridge.directory.models import SubscribedSku, Tenant, User, UserLicense
from posturebridge.directory.secrets import hash_password

READ = ("User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All", "Directory.Read.All", "Directory.ReadWrite.All")
WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
DEFAULT_SELECT = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip

_c = User.__table__.c
_licenses = UserLicense.__table__
CATALOGUE = ResourceCatalogue.bind(
    USER,
    id_column=_c.id,
    storage={
        "accountEnabled": _c.account_enabled,
        "assignedLicenses": ChildRows(_licenses, _licenses.c.user_id == _c.id, members={"skuId": _licenses.c.sku_id}),
        "createdDateTime": _c.created_date_time,
        "department": _c.department,
        "displayName": _c.display_name,
        "givenName": _c.given_name,
        "jobTitle": _c.job_title,
        "mail": _c.mail,
        "mailNickname": _c.mail_nickname,
        "surname": _c.surname,
        "usageLocation": _c.usage_location,
        "userPrincipalName": _c.user_principal_name_lower,
        "userType": _c.user_type,
    },
)

FIELDS = {
    "accountEnabled": bodies.Field(bodies.boolean()),
    "displayName": bodies.Field(bodies.string(256)),
    "givenName": bodies.Field(bodies.string(64, nullable=True)),
    "surname": bodies.Field(bodies.string(64, nullable=True)),
    "mail": bodies.Field(bodies.string(256, nullable=True)),
    "mailNickname": bodies.Field(bodies.string(64)),
    "jobTitle": bodies.Field(bodies.string(128, nullable=True)),
    "department": bodies.Field(bodies.string(64, nullable=True)),
    "usageLocation": bodies.Field(
        lambda v: v is None or (isinstance(v, str) and re.fullmatch("[A-Z]{2}", v) is not None)
    ),
    "userType": bodies.Field(bodies.one_of("Member", "Guest")),
    "onPremisesImmutableId": bodies.Field(bodies.string(256, nullable=True)),
    "userPrincipalName": bodies.Field(bodies.string(113)),
    "passwordProfile": bodies.Field(
        lambda v: isinstance(v, dict) and isinstance(v.get("password"), str) and 8 <= len(v["password"]) <= 256
    ),
    **{name: bodies.Field(lambda _v: True, read_only=True) for name in ("id", "createdDateTime", "assignedLicenses")},
}
COLUMNS = {
    "accountEnabled": "account_enabled",
    "displayName": "display_name",
    "givenName": "given_name",
    "surname": "surname",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "jobTitle": "job_title",
    "department": "department",
    "usageLocation": "usage_location",
    "userType": "user_type",
    "onPremisesImmutableId": "on_premises_immutable_id",
}


def render(user: User, licenses: list[UserLicense] | None = None) -> dict[str, Any]:
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": user.surname,
        "userPrincipalName": user.user_principal_name,
        "accountEnabled": user.account_enabled,
        "createdDateTime": graph_datetime(user.created_date_time),
        "department": user.department,
        "mailNickname": user.mail_nickname,
        "onPremisesImmutableId": user.on_premises_immutable_id,
        "usageLocation": user.usage_location,
        "userType": user.user_type,
        "assignedLicenses": [
            {"disabledPlans": list(item.disabled_plans or []), "skuId": item.sku_id} for item in (licenses or [])
        ],
    }


def _tenant_users(ctx: GraphRequest) -> Select[Any]:
    return select(User).where(User.tenant_id == ctx.caller.tenant_id)


def find(ctx: GraphRequest, id_or_upn: str) -> User:
    statement = _tenant_users(ctx).where(
        (User.id == id_or_upn.lower()) | (User.user_principal_name_lower == id_or_upn.lower())
    )
    user: User | None = ctx.session.scalars(statement).first()
    if user is None:
        raise not_found(
            f"Resource '{id_or_upn}' does not exist or one of its queried reference-property objects are not present."
        )
    return user


def licenses_of(ctx: GraphRequest, user: User) -> list[UserLicense]:
    return list(ctx.session.scalars(select(UserLicense).where(UserLicense.user_id == user.id)))


def register(api: APIRouter, context: Any) -> None:
    @api.get("/users")
    def list_users(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        body = list_page(
            ctx,
            CATALOGUE,
            _tenant_users(ctx),
            lambda u: render(u, licenses_of(ctx, u)),
            "users",
            default_select=DEFAULT_SELECT,
        )
        return json_response(ctx.request, body)

    @api.get("/users/{id_or_upn}")
    def get_user(id_or_upn: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        user = find(ctx, id_or_upn)
        q = parse_query(
            {k: v for k, v in ctx.request.query_params.items() if k == "$select"},
            consistency_level=None,
            catalogue=CATALOGUE,
            signing_key=ctx.directory.skiptoken_key,
        )
        item = project(render(user, licenses_of(ctx, user)), q.select, DEFAULT_SELECT)
        return json_response(ctx.request, {"@odata.context": ctx.context_url("users/$entity"), **item})

    @api.post("/users")
    async def create_user(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        body = bodies.validate(await bodies.read_json(request), FIELDS, "User")
        bodies.require(
            body, ["accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"], "User"
        )
        tenant = ctx.session.get(Tenant, ctx.caller.tenant_id)
        assert tenant is not None
        extra = {
            COLUMNS[name]: value
            for name, value in body.items()
            if name in COLUMNS and name not in ("displayName", "mailNickname", "accountEnabled")
        }
        try:
            user = tenants.add_user(
                ctx.session,
                tenant,
                user_principal_name=body["userPrincipalName"],
                display_name=body["displayName"],
                password=body["passwordProfile"]["password"],
                now=ctx.now,
                initiated_by=ctx.initiator(),
                **extra,
            )
        except tenants.ProvisioningError as exc:
            raise bad_request(str(exc)) from None
        user.account_enabled = body["accountEnabled"]
        user.mail_nickname = body["mailNickname"]
        ctx.session.commit()
        item = render(user)
        return json_response(ctx.request, {"@odata.context": ctx.context_url("users/$entity"), **item}, 201)

    @api.patch("/users/{id_or_upn}")
    async def update_user(id_or_upn: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        changes = bodies.validate(await bodies.read_json(request), FIELDS, "User")
        user = find(ctx, id_or_upn)
        audit: list[Change] = []
        for name, value in changes.items():
            if name == "passwordProfile":
                user.password_hash = hash_password(value["password"])
                audit.append(Change("PasswordProfile", None, "<redacted>"))
            elif name == "userPrincipalName":
                raise bad_request("Changing userPrincipalName is not supported by posturebridge.")
            else:
                old = getattr(user, COLUMNS[name])
                if old != value:
                    audit.append(Change(name[0].upper() + name[1:], old, value))
                setattr(user, COLUMNS[name], value)
        if audit:
            record(
                ctx.session,
                tenant_id=user.tenant_id,
                activity="Update user",
                category="UserManagement",
                operation_type="Update",
                initiated_by=ctx.initiator(),
                targets=[Target(user.id, user.display_name, "User", user.user_principal_name, tuple(audit))],
                now=ctx.now,
            )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete("/users/{id_or_upn}")
    def delete_user(id_or_upn: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        user = find(ctx, id_or_upn)
        record(
            ctx.session,
            tenant_id=user.tenant_id,
            activity="Delete user",
            category="UserManagement",
            operation_type="Delete",
            initiated_by=ctx.initiator(),
            targets=[Target(user.id, user.display_name, "User", user.user_principal_name)],
            now=ctx.now,
        )
        ctx.session.delete(user)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.post("/users/{id_or_upn}/assignLicense")
    async def assign_license(id_or_upn: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        """learn.microsoft.com/graph/api/user-assignlicense: addLicenses [{skuId, disabledPlans}], removeLicenses."""
        ctx.caller.require(*WRITE)
        body = await bodies.read_json(request)
        add, remove = body.get("addLicenses"), body.get("removeLicenses")
        if not isinstance(add, list) or not isinstance(remove, list):
            raise bad_request("Invalid value specified for property 'addLicenses' of resource 'User'.")
        user = find(ctx, id_or_upn)
        subscribed = set(
            ctx.session.scalars(select(SubscribedSku.sku_id).where(SubscribedSku.tenant_id == user.tenant_id))
        )
        for item in add:
            sku_id = item.get("skuId") if isinstance(item, dict) else None
            if not bodies.guid(sku_id) or sku_id not in subscribed:
                raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
            disabled = item.get("disabledPlans") or []
            if not isinstance(disabled, list) or not all(bodies.guid(plan) for plan in disabled):
                raise bad_request("Invalid value specified for property 'disabledPlans' of resource 'User'.")
        for sku_id in remove:
            if not bodies.guid(sku_id):
                raise bad_request("Invalid value specified for property 'removeLicenses' of resource 'User'.")
        if not user.usage_location and add:
            raise bad_request("License assignment cannot be done for user with invalid usage location.")
        for item in add:
            existing = ctx.session.get(UserLicense, (user.id, item["skuId"]))
            if existing is None:
                ctx.session.add(
                    UserLicense(
                        user_id=user.id, sku_id=item["skuId"], disabled_plans=list(item.get("disabledPlans") or [])
                    )
                )
            else:
                existing.disabled_plans = list(item.get("disabledPlans") or [])
        for sku_id in remove:
            existing = ctx.session.get(UserLicense, (user.id, sku_id))
            if existing is not None:
                ctx.session.delete(existing)
        names = [catalog.sku(item["skuId"]) for item in add]
        record(
            ctx.session,
            tenant_id=user.tenant_id,
            activity="Change user license",
            category="UserManagement",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            targets=[
                Target(
                    user.id,
                    user.display_name,
                    "User",
                    user.user_principal_name,
                    (Change("AssignedLicense", None, [sku.sku_part_number if sku else "?" for sku in names]),),
                )
            ],
            now=ctx.now,
        )
        ctx.session.commit()
        ctx.session.refresh(user)
        item = render(user, licenses_of(ctx, user))
        return json_response(ctx.request, {"@odata.context": ctx.context_url("users/$entity"), **item})
