"""Request bodies of Graph writes: JSON parsing and per-property validation with Graph's messages.

Directory objects answer bad bodies with 400 ``Request_BadRequest``: ``Invalid property 'x'.`` for an
unknown property, ``Invalid value specified for property 'x' of resource 'Device'.`` for a wrong type
or length, and a read-only property is refused by name. ``@odata.type`` and other annotations in a
body are ignored, as Graph does (msgraph-sdk sends ``@odata.type`` on every PATCH).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from posturebridge.directory.graph.errors import GraphError, bad_request

Check = Callable[[Any], bool]


def _string(max_length: int) -> Check:
    return lambda value: isinstance(value, str) and len(value) <= max_length


def string(max_length: int = 256, *, nullable: bool = False) -> Check:
    inner = _string(max_length)
    return (lambda value: value is None or inner(value)) if nullable else inner


def boolean(*, nullable: bool = False) -> Check:
    return lambda value: isinstance(value, bool) or (nullable and value is None)


def guid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def string_list(max_items: int = 1000, max_length: int = 256) -> Check:
    return lambda value: (
        isinstance(value, list)
        and len(value) <= max_items
        and all(isinstance(item, str) and len(item) <= max_length for item in value)
    )


def one_of(*values: str) -> Check:
    allowed = set(values)
    return lambda value: isinstance(value, str) and value in allowed


@dataclass(frozen=True)
class Field:
    check: Check
    read_only: bool = False


def invalid_value(name: str, resource: str) -> GraphError:
    return bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.")


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("Empty Payload. JSON content expected.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        ) from None
    if not isinstance(value, dict):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        )
    return value


def validate(body: Mapping[str, Any], fields: Mapping[str, Field], resource: str) -> dict[str, Any]:
    """The body's properties (annotations dropped), each checked against ``fields``."""
    clean: dict[str, Any] = {}
    for name, value in body.items():
        if "@odata." in name or name.startswith("@"):
            continue
        field = fields.get(name)
        if field is None:
            raise bad_request(f"Invalid property '{name}'.")
        if field.read_only:
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")
        if not field.check(value):
            raise invalid_value(name, resource)
        clean[name] = value
    return clean


def require(body: Mapping[str, Any], names: list[str], resource: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise bad_request(f"Property '{name}' is required when creating the resource of type '{resource}'.")


def extension_attributes(value: Any) -> bool:
    return isinstance(value, dict) and all(
        key in EXTENSION_ATTRIBUTE_NAMES and (item is None or (isinstance(item, str) and len(item) <= 1024))
        for key, item in value.items()
        if not key.startswith("@")
    )


EXTENSION_ATTRIBUTE_NAMES = frozenset(f"extensionAttribute{n}" for n in range(1, 16))
