"""Custom security attributes: ``/directory/attributeSets`` and ``/directory/customSecurityAttributeDefinitions``
(+ ``allowedValues``), as learn.microsoft.com/graph/api/resources/custom-security-attributes-overview
documents them; values are assigned on service principals (directory_objects.py).

Rules (graph-facts.md §6): an attribute set's id is its name (≤ 32 characters, no spaces), description
≤ 128; a definition's id is ``<attributeSet>_<name>``; name ≤ 32 characters, letters and digits only,
immutable; type Boolean|Integer|String, immutable; isCollection and usePreDefinedValuesOnly cannot be true
for Boolean; usePreDefinedValuesOnly may go from true to false only; status Available|Deprecated.
Audit category AttributeManagement.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from posturebridge.directory.audit import Target, record
from posturebridge.directory.graph.body import read_json
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import GraphError, bad_request, not_found
from posturebridge.directory.models import AttributeSet, CustomSecurityAttributeDefinition

READ = ("CustomSecAttributeDefinition.Read.All", "CustomSecAttributeDefinition.ReadWrite.All")
WRITE = ("CustomSecAttributeDefinition.ReadWrite.All",)
NAME = re.compile(r"^[A-Za-z0-9]{1,32}$")
MAX_ATTRIBUTES_PER_TENANT = 500


def _valid_maximum(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ATTRIBUTES_PER_TENANT


def render_set(row: AttributeSet) -> dict[str, Any]:
    return {"id": row.id, "description": row.description, "maxAttributesPerSet": row.max_attributes_per_set}


def render_definition(row: CustomSecurityAttributeDefinition) -> dict[str, Any]:
    return {
        "id": row.id,
        "attributeSet": row.attribute_set,
        "description": row.description,
        "isCollection": row.is_collection,
        "isSearchable": row.is_searchable,
        "name": row.name,
        "status": row.status,
        "type": row.type,
        "usePreDefinedValuesOnly": row.use_pre_defined_values_only,
    }


def _allowed_values(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("id"), str)
        and 0 < len(item["id"]) <= 64
        and isinstance(item.get("isActive", True), bool)
        for item in raw
    ):
        raise bad_request(
            "Invalid value specified for property 'allowedValues' of resource 'CustomSecurityAttributeDefinition'."
        )
    return [{"id": item["id"], "isActive": item.get("isActive", True)} for item in raw]


def _find_set(ctx: GraphRequest, set_id: str) -> AttributeSet:
    row = ctx.session.scalars(
        select(AttributeSet).where(AttributeSet.tenant_id == ctx.caller.tenant_id, AttributeSet.id.ilike(set_id))
    ).first()
    if row is None:
        raise not_found(
            f"Resource '{set_id}' does not exist or one of its queried reference-property objects are not present."
        )
    return row


def _find_definition(ctx: GraphRequest, definition_id: str) -> CustomSecurityAttributeDefinition:
    row = ctx.session.scalars(
        select(CustomSecurityAttributeDefinition).where(
            CustomSecurityAttributeDefinition.tenant_id == ctx.caller.tenant_id,
            CustomSecurityAttributeDefinition.id.ilike(definition_id),
        )
    ).first()
    if row is None:
        raise not_found(
            f"Resource '{definition_id}' does not exist or one of its queried reference-property "
            "objects are not present."
        )
    return row


def register(api: APIRouter, context: Any) -> None:
    @api.get("/directory/attributeSets")
    def list_sets(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        rows = ctx.session.scalars(
            select(AttributeSet).where(AttributeSet.tenant_id == ctx.caller.tenant_id).order_by(AttributeSet.id)
        )
        return json_response(
            ctx.request,
            {"@odata.context": ctx.context_url("directory/attributeSets"), "value": [render_set(row) for row in rows]},
        )

    @api.get("/directory/attributeSets/{set_id}")
    def get_set(set_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        return json_response(
            ctx.request,
            {
                "@odata.context": ctx.context_url("directory/attributeSets/$entity"),
                **render_set(_find_set(ctx, set_id)),
            },
        )

    @api.post("/directory/attributeSets")
    async def create_set(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        body = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@")}
        unknown = set(body) - {"id", "description", "maxAttributesPerSet"}
        if unknown:
            raise bad_request(f"Invalid property '{sorted(unknown)[0]}'.")
        set_id, description, maximum = body.get("id"), body.get("description"), body.get("maxAttributesPerSet")
        if not isinstance(set_id, str) or not NAME.match(set_id):
            raise bad_request("Invalid value specified for property 'id' of resource 'AttributeSet'.")
        if description is not None and (not isinstance(description, str) or len(description) > 128):
            raise bad_request("Invalid value specified for property 'description' of resource 'AttributeSet'.")
        if maximum is not None and not _valid_maximum(maximum):
            raise bad_request("Invalid value specified for property 'maxAttributesPerSet' of resource 'AttributeSet'.")
        exists = ctx.session.scalars(
            select(AttributeSet).where(AttributeSet.tenant_id == ctx.caller.tenant_id, AttributeSet.id.ilike(set_id))
        ).first()
        if exists is not None:
            raise GraphError(409, "Request_BadRequest", f"An attribute set with id '{set_id}' already exists.")
        row = AttributeSet(
            tenant_id=ctx.caller.tenant_id, id=set_id, description=description, max_attributes_per_set=maximum
        )
        ctx.session.add(row)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Add an attribute set",
            category="AttributeManagement",
            operation_type="Add",
            initiated_by=ctx.initiator(),
            targets=[Target(row.id, row.id, "AttributeSet")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(
            ctx.request, {"@odata.context": ctx.context_url("directory/attributeSets/$entity"), **render_set(row)}, 201
        )

    @api.patch("/directory/attributeSets/{set_id}")
    async def update_set(set_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        body = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@")}
        row = _find_set(ctx, set_id)
        for name, value in body.items():
            if name == "description" and (value is None or (isinstance(value, str) and len(value) <= 128)):
                row.description = value
            elif name == "maxAttributesPerSet" and _valid_maximum(value):
                row.max_attributes_per_set = value
            elif name == "id":
                raise bad_request("Property 'id' is read-only and cannot be set.")
            else:
                raise bad_request(f"Invalid value specified for property '{name}' of resource 'AttributeSet'.")
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Update an attribute set",
            category="AttributeManagement",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            targets=[Target(row.id, row.id, "AttributeSet")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    base = "/directory/customSecurityAttributeDefinitions"

    @api.get(base)
    def list_definitions(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        rows = ctx.session.scalars(
            select(CustomSecurityAttributeDefinition)
            .where(CustomSecurityAttributeDefinition.tenant_id == ctx.caller.tenant_id)
            .order_by(CustomSecurityAttributeDefinition.id)
        )
        expand = "allowedvalues" in ctx.request.query_params.get("$expand", "").lower()
        value = [render_definition(row) | ({"allowedValues": row.allowed_values} if expand else {}) for row in rows]
        context_url = ctx.context_url("directory/customSecurityAttributeDefinitions")
        return json_response(ctx.request, {"@odata.context": context_url, "value": value})

    @api.get(base + "/{definition_id}")
    def get_definition(definition_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        row = _find_definition(ctx, definition_id)
        expand = "allowedvalues" in ctx.request.query_params.get("$expand", "").lower()
        item = render_definition(row) | ({"allowedValues": row.allowed_values} if expand else {})
        context_url = ctx.context_url("directory/customSecurityAttributeDefinitions/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **item})

    @api.get(base + "/{definition_id}/allowedValues")
    def list_allowed_values(definition_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        row = _find_definition(ctx, definition_id)
        context_url = ctx.context_url(f"directory/customSecurityAttributeDefinitions('{row.id}')/allowedValues")
        return json_response(ctx.request, {"@odata.context": context_url, "value": row.allowed_values})

    @api.post(base + "/{definition_id}/allowedValues")
    async def add_allowed_value(definition_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        value = _allowed_values([await read_json(request)])[0]
        row = _find_definition(ctx, definition_id)
        if any(item["id"] == value["id"] for item in row.allowed_values):
            raise GraphError(409, "Request_BadRequest", f"The allowed value '{value['id']}' already exists.")
        row.allowed_values = [*row.allowed_values, value]
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Update custom security attribute definition in an attribute set",
            category="AttributeManagement",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            targets=[Target(row.id, row.name, "CustomSecurityAttributeDefinition")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, value, 201)

    @api.post(base)
    async def create_definition(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        body = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@")}
        known = {
            "attributeSet",
            "description",
            "isCollection",
            "isSearchable",
            "name",
            "status",
            "type",
            "usePreDefinedValuesOnly",
            "allowedValues",
        }
        unknown = set(body) - known
        if unknown:
            raise bad_request(f"Invalid property '{sorted(unknown)[0]}'.")
        for name in (
            "attributeSet",
            "isCollection",
            "isSearchable",
            "name",
            "status",
            "type",
            "usePreDefinedValuesOnly",
        ):
            if name not in body:
                raise bad_request(
                    f"Property '{name}' is required when creating the resource of type "
                    "'CustomSecurityAttributeDefinition'."
                )
        attribute_set = _find_set(ctx, str(body["attributeSet"]))
        name, kind = body["name"], body["type"]
        if not isinstance(name, str) or not NAME.match(name):
            raise bad_request(
                "Invalid value specified for property 'name' of resource 'CustomSecurityAttributeDefinition'."
            )
        if kind not in ("Boolean", "Integer", "String"):
            raise bad_request(
                "Invalid value specified for property 'type' of resource 'CustomSecurityAttributeDefinition'."
            )
        if body["status"] not in ("Available", "Deprecated"):
            raise bad_request(
                "Invalid value specified for property 'status' of resource 'CustomSecurityAttributeDefinition'."
            )
        for flag in ("isCollection", "isSearchable", "usePreDefinedValuesOnly"):
            if not isinstance(body[flag], bool):
                raise bad_request(
                    f"Invalid value specified for property '{flag}' of resource 'CustomSecurityAttributeDefinition'."
                )
        if kind == "Boolean" and (body["isCollection"] or body["usePreDefinedValuesOnly"]):
            raise bad_request("isCollection and usePreDefinedValuesOnly cannot be true for a Boolean attribute.")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 128):
            raise bad_request(
                "Invalid value specified for property 'description' of resource 'CustomSecurityAttributeDefinition'."
            )
        definition_id = f"{attribute_set.id}_{name}"
        if ctx.session.get(CustomSecurityAttributeDefinition, (ctx.caller.tenant_id, definition_id)) is not None:
            raise GraphError(
                409, "Request_BadRequest", f"A custom security attribute '{definition_id}' already exists."
            )
        count = len(
            ctx.session.scalars(
                select(CustomSecurityAttributeDefinition.id).where(
                    CustomSecurityAttributeDefinition.tenant_id == ctx.caller.tenant_id,
                    CustomSecurityAttributeDefinition.status == "Available",
                )
            ).all()
        )
        in_set = len(
            ctx.session.scalars(
                select(CustomSecurityAttributeDefinition.id).where(
                    CustomSecurityAttributeDefinition.tenant_id == ctx.caller.tenant_id,
                    CustomSecurityAttributeDefinition.attribute_set == attribute_set.id,
                )
            ).all()
        )
        if count >= MAX_ATTRIBUTES_PER_TENANT or (attribute_set.max_attributes_per_set or 500) <= in_set:
            raise bad_request("The maximum number of custom security attributes has been reached.")
        row = CustomSecurityAttributeDefinition(
            tenant_id=ctx.caller.tenant_id,
            id=definition_id,
            attribute_set=attribute_set.id,
            name=name,
            description=description,
            is_collection=body["isCollection"],
            is_searchable=body["isSearchable"],
            status=body["status"],
            type=kind,
            use_pre_defined_values_only=body["usePreDefinedValuesOnly"],
            allowed_values=_allowed_values(body.get("allowedValues")),
        )
        ctx.session.add(row)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Add custom security attribute definition in an attribute set",
            category="AttributeManagement",
            operation_type="Add",
            initiated_by=ctx.initiator(),
            targets=[Target(row.id, row.name, "CustomSecurityAttributeDefinition")],
            now=ctx.now,
        )
        ctx.session.commit()
        context_url = ctx.context_url("directory/customSecurityAttributeDefinitions/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **render_definition(row)}, 201)

    @api.patch(base + "/{definition_id}")
    async def update_definition(definition_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        body = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@")}
        row = _find_definition(ctx, definition_id)
        for name, value in body.items():
            if name == "description" and (value is None or (isinstance(value, str) and len(value) <= 128)):
                row.description = value
            elif name == "status" and value in ("Available", "Deprecated"):
                row.status = value
            elif name == "usePreDefinedValuesOnly" and value is False:
                row.use_pre_defined_values_only = False
            elif name in ("attributeSet", "name", "type", "isCollection", "isSearchable", "id"):
                raise bad_request(f"Property '{name}' is read-only and cannot be set.")
            else:
                raise bad_request(
                    f"Invalid value specified for property '{name}' of resource 'CustomSecurityAttributeDefinition'."
                )
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Update custom security attribute definition in an attribute set",
            category="AttributeManagement",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            targets=[Target(row.id, row.name, "CustomSecurityAttributeDefinition")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)
