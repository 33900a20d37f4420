"""The offline what-if service: load policy files, build a sign-in context, evaluate.

This is the edge between files and the pure engine: the CLI calls ``load_policy_path`` and
``evaluate_what_if``; nothing else here reads the disk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from posturebridge.conditional_access.evaluate import compile_policies
from posturebridge.conditional_access.model import (
    DeviceInfo,
    NamedLocation,
    ResourceApplication,
    SatisfiedControls,
    SignInContext,
    UserIdentity,
)
from posturebridge.conditional_access.parse import (
    DocumentError,
    ParsedPolicy,
    decode_json_bytes,
    parse_device,
    parse_named_location,
    parse_policy,
    policy_objects,
)
from posturebridge.conditional_access.result import Decision
from posturebridge.conditional_access.snapshot import DirectorySnapshot


@dataclass
class PolicySource:
    """Everything found under a --policies path."""

    policies: list[ParsedPolicy] = field(default_factory=list)
    raw: list[Mapping[str, Any]] = field(default_factory=list)
    named_locations: list[NamedLocation] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)  # "path: message"


def _is_named_location(item: Mapping[str, Any]) -> bool:
    odata_type = str(item.get("@odata.type", ""))
    return odata_type.endswith("NamedLocation") or "ipRanges" in item or "countriesAndRegions" in item


def load_policy_path(path: Path) -> PolicySource:
    """A policy file, a JSON array, a Graph list response, or a folder of such files (recursively)."""
    if not path.exists():
        raise DocumentError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    source = PolicySource()
    for file in files:
        name = str(file.relative_to(path)) if path.is_dir() else file.name
        try:
            document = decode_json_bytes(file.read_bytes())
            objects = list(policy_objects(document))
        except (DocumentError, UnicodeDecodeError) as exc:
            source.file_errors.append(f"{name}: {exc}")
            continue
        for json_path, item in objects:
            if _is_named_location(item):
                source.named_locations.append(parse_named_location(item))
                continue
            source.raw.append(item)
            source.policies.append(parse_policy(item, json_path, name))
    if path.is_dir() and not files:
        raise DocumentError(f"{path}: no .json files")
    return source


def load_json_argument(value: str) -> Any:
    """A JSON value given inline or as a file path."""
    text = value.strip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    file = Path(value)
    if not file.is_file():
        raise DocumentError(f"{value}: neither inline JSON nor a readable file")
    return decode_json_bytes(file.read_bytes())


@dataclass(frozen=True)
class WhatIfRequest:
    user: str
    app: str
    groups: Sequence[str] = ()
    roles: Sequence[str] = ()
    user_type: str | None = None
    user_action: str | None = None
    authentication_context: Sequence[str] = ()
    platform: str | None = None
    client_app: str = "browser"
    ip: str | None = None
    country: str | None = None
    sign_in_risk: str = "none"
    user_risk: str = "none"
    insider_risk: str = "none"
    authentication_flow: str | None = None
    device: Mapping[str, Any] | None = None  # Graph device properties; None = unregistered
    mfa: bool = False
    authentication_strengths: Sequence[str] = ()
    terms_of_use: Sequence[str] = ()


def build_context(request: WhatIfRequest, snapshot: DirectorySnapshot | None) -> SignInContext:
    """The SignInContext the directory would build, from CLI arguments and an optional snapshot."""
    user = snapshot.user(request.user) if snapshot is not None else None
    if user is None:
        user = UserIdentity(id=request.user)
    user = UserIdentity(
        id=user.id,
        user_principal_name=user.user_principal_name,
        group_ids=user.group_ids | frozenset(request.groups),
        role_template_ids=user.role_template_ids | frozenset(request.roles),
        user_type=request.user_type or user.user_type,
        guest_or_external_user_type=(
            user.guest_or_external_user_type
            if request.user_type is None
            else ("b2bCollaborationGuest" if request.user_type == "guest" else None)
        ),
        home_tenant_id=user.home_tenant_id,
    )
    application = snapshot.application(request.app) if snapshot is not None else ResourceApplication(request.app)
    device: DeviceInfo | None = parse_device(request.device) if request.device is not None else None
    return SignInContext(
        user=user,
        application=None if request.user_action or request.authentication_context else application,
        user_action=request.user_action,
        authentication_context=tuple(request.authentication_context),
        client_app_type=request.client_app,
        device_platform=request.platform,
        ip_address=request.ip,
        country=request.country,
        sign_in_risk=request.sign_in_risk,
        user_risk=request.user_risk,
        insider_risk=request.insider_risk,
        authentication_flow=request.authentication_flow,
        device=device,
        satisfied=SatisfiedControls(
            mfa=request.mfa,
            authentication_strengths=frozenset(request.authentication_strengths),
            terms_of_use=frozenset(request.terms_of_use),
        ),
    )


def evaluate_what_if(
    source: PolicySource, request: WhatIfRequest, snapshot: DirectorySnapshot | None, now: datetime
) -> Decision:
    locations = list(source.named_locations) + list(snapshot.named_locations if snapshot else ())
    compiled = compile_policies([p.policy for p in source.policies], locations)
    return compiled.evaluate(build_context(request, snapshot), now)
