"""Graph JSON -> the typed model. The only module that knows Graph's wire names.

It reads what real exports contain: UTF-16/UTF-8 with a BOM, ``@odata`` annotations, beta-only
properties, the PowerShell SDK's PascalCase serialisation (ScubaGear), ``null`` versus ``[]``,
``"All"``/``"all"``, legacy ``deviceStates`` and template placeholders such as
``<AdministratorGroup>``. Nothing here is fatal: every problem becomes an ``Issue`` that names the
JSON path, and unknown properties are kept in ``ParsedPolicy.unknown`` and reported.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from posturebridge.conditional_access.model import (
    ApplicationsCondition,
    AuthenticationStrength,
    ClientApplicationsCondition,
    Conditions,
    DeviceInfo,
    DevicesCondition,
    ExternalTenants,
    FilterRule,
    GrantControls,
    GuestsOrExternalUsers,
    IncludeExclude,
    IpNetwork,
    Issue,
    IssueKind,
    NamedLocation,
    Policy,
    PolicyState,
    UsersCondition,
    fold,
)
from posturebridge.conditional_access.rules import (
    APPLICATION_FILTER,
    DEVICE_FILTER,
    Dialect,
    RuleSyntaxError,
    parse_rule,
)

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PLACEHOLDER = re.compile(r"<[^<>]+>")

# Canonical spellings of enumerations; input is matched case-insensitively.
CLIENT_APP_TYPES = (
    "all",
    "browser",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "easSupported",
    "other",
)
PLATFORMS = ("all", "android", "iOS", "windows", "windowsPhone", "macOS", "linux")
RISK_LEVELS = ("low", "medium", "high", "hidden", "none")
INSIDER_RISK_LEVELS = ("minor", "moderate", "elevated")
TRANSFER_METHODS = ("none", "deviceCodeFlow", "authenticationTransfer")
BUILT_IN_CONTROLS = (
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
    "riskRemediation",
)
GUEST_TYPES = (
    "none",
    "internalGuest",
    "b2bCollaborationGuest",
    "b2bCollaborationMember",
    "b2bDirectConnectUser",
    "otherExternalUser",
    "serviceProvider",
)
USER_KEYWORDS = ("All", "None", "GuestsOrExternalUsers", "AllAgentIdUsers")
APP_KEYWORDS = ("All", "None", "Office365", "MicrosoftAdminPortals", "AllAgentIdResources")
LOCATION_KEYWORDS = ("All", "AllTrusted", "AllCompliantNetworkLocations")
SP_KEYWORDS = ("All", "None", "ServicePrincipalsInMyTenant")
USER_ACTIONS = ("urn:user:registersecurityinfo", "urn:user:registerdevice")
DEVICE_STATES = ("All", "Compliant", "DomainJoined")
STATES = {fold(s.value): s for s in PolicyState}

_KNOWN: dict[str, frozenset[str]] = {
    "policy": frozenset(
        [
            "id",
            "templateId",
            "displayName",
            "description",
            "createdDateTime",
            "modifiedDateTime",
            "deletedDateTime",
            "state",
            "conditions",
            "grantControls",
            "sessionControls",
            "partialEnablementStrategy",
            "additionalProperties",
        ]
    ),
    "conditions": frozenset(
        [
            "users",
            "applications",
            "clientApplications",
            "clientAppTypes",
            "platforms",
            "locations",
            "devices",
            "deviceStates",
            "signInRiskLevels",
            "userRiskLevels",
            "servicePrincipalRiskLevels",
            "insiderRiskLevels",
            "authenticationFlows",
            "times",
            "agents",
            "agentIdRiskLevels",
            "agentContext",
        ]
    ),
    "users": frozenset(
        [
            "includeUsers",
            "excludeUsers",
            "includeGroups",
            "excludeGroups",
            "includeRoles",
            "excludeRoles",
            "includeGuestsOrExternalUsers",
            "excludeGuestsOrExternalUsers",
        ]
    ),
    "applications": frozenset(
        [
            "includeApplications",
            "excludeApplications",
            "includeUserActions",
            "includeAuthenticationContextClassReferences",
            "applicationFilter",
            "globalSecureAccess",
            "networkAccess",
        ]
    ),
    "clientApplications": frozenset(
        [
            "includeServicePrincipals",
            "excludeServicePrincipals",
            "servicePrincipalFilter",
            "includeAgentIdServicePrincipals",
            "excludeAgentIdServicePrincipals",
            "agentIdServicePrincipalFilter",
        ]
    ),
    "platforms": frozenset({"includePlatforms", "excludePlatforms"}),
    "locations": frozenset({"includeLocations", "excludeLocations"}),
    "devices": frozenset(
        {"deviceFilter", "includeDevices", "excludeDevices", "includeDeviceStates", "excludeDeviceStates"}
    ),
    "deviceStates": frozenset({"includeStates", "excludeStates"}),
    "filter": frozenset({"mode", "rule"}),
    "guests": frozenset({"guestOrExternalUserTypes", "externalTenants"}),
    "externalTenants": frozenset({"membershipKind", "members"}),
    "authenticationFlows": frozenset({"transferMethods"}),
    "grantControls": frozenset(
        {"operator", "builtInControls", "customAuthenticationFactors", "termsOfUse", "authenticationStrength"}
    ),
    "authenticationStrength": frozenset(
        [
            "id",
            "displayName",
            "description",
            "policyType",
            "requirementsSatisfied",
            "allowedCombinations",
            "combinationConfigurations",
            "createdDateTime",
            "modifiedDateTime",
        ]
    ),
    "sessionControls": frozenset(
        [
            "applicationEnforcedRestrictions",
            "cloudAppSecurity",
            "signInFrequency",
            "persistentBrowser",
            "disableResilienceDefaults",
            "continuousAccessEvaluation",
            "secureSignInSession",
            "globalSecureAccessFilteringProfile",
            "networkAccessSecurity",
            "blockSensitiveActions",
        ]
    ),
}


class DocumentError(ValueError):
    """A document that is not JSON at all, or has no policies in any shape we know."""


# ---------------------------------------------------------------- documents


def decode_json_bytes(data: bytes) -> Any:
    """JSON from bytes in UTF-8/16/32, with or without a byte-order mark."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding)
            break
    else:
        if len(data) >= 2 and data[1] == 0 and data[0] != 0:
            text = data.decode("utf-16-le")
        elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
            text = data.decode("utf-16-be")
        else:
            text = data.decode("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def policy_objects(document: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The policy objects in a document: one policy, a JSON array, or a Graph list ``{"value": [...]}``.

    Yields (JSON path, object) so issues can name where a policy came from.
    """
    if isinstance(document, Mapping) and isinstance(document.get("value"), list):
        items: list[Any] = document["value"]
        prefix = "$.value"
    elif isinstance(document, list):
        items = document
        prefix = "$"
    elif isinstance(document, Mapping):
        yield "$", document
        return
    else:
        raise DocumentError("expected a policy object, a JSON array or a Graph list response")
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DocumentError(f"{prefix}[{index}] is not an object")
        yield f"{prefix}[{index}]", item


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class ParsedPolicy:
    policy: Policy
    unknown: Mapping[str, Any] = field(default_factory=dict)  # JSON path -> value, kept as found


class _Reader:
    """Walks one policy object, collecting issues with JSON paths."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.issues: list[Issue] = []
        self.unknown: dict[str, Any] = {}
        self.pascal = False  # the PowerShell SDK serialisation: every key in PascalCase

    def issue(self, path: str, kind: IssueKind, message: str) -> None:
        self.issues.append(Issue(self.base + path, kind, message))

    def obj(self, raw: Any, path: str, schema: str, *, array_is_unset: bool = False) -> dict[str, Any] | None:
        """A Graph object with annotations removed and keys in camelCase; None when unset."""
        if raw is None:
            return None
        if isinstance(raw, list) and not raw and array_is_unset:
            self.issue(path, IssueKind.WARNING, "an empty array where Graph has an object; read as not set")
            return None
        if not isinstance(raw, Mapping):
            self.issue(path, IssueKind.ERROR, f"expected an object, found {_kind(raw)}")
            return None
        clean: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(key, str) or "@odata" in key or key.startswith("#") or key.startswith("@"):
                continue
            camel = key[:1].lower() + key[1:]
            if camel != key and not self.pascal:
                self.issue(f"{path}.{key}", IssueKind.WARNING, f"key {key!r} is not Graph's spelling {camel!r}")
            if camel in clean:
                self.issue(f"{path}.{key}", IssueKind.ERROR, f"duplicate key {camel!r} in different casing")
                continue
            clean[camel] = value
        known = _KNOWN.get(schema)
        if known is not None:
            for key in clean:
                if key not in known:
                    self.unknown[self.base + f"{path}.{key}"] = clean[key]
                    self.issue(f"{path}.{key}", IssueKind.UNKNOWN_FIELD, "unknown property kept and ignored")
        return clean

    def strings(self, raw: Any, path: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            # Flags enums (insiderRiskLevels, transferMethods, guest types) are comma-separated strings.
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if not isinstance(raw, list):
            self.issue(path, IssueKind.ERROR, f"expected an array of strings, found {_kind(raw)}")
            return ()
        values: list[str] = []
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                self.issue(f"{path}[{index}]", IssueKind.ERROR, f"expected a string, found {_kind(item)}")
                continue
            values.append(item)
        return tuple(values)

    def enum_values(self, raw: Any, path: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        canonical = {fold(a): a for a in allowed}
        values: list[str] = []
        for index, value in enumerate(self.strings(raw, path)):
            spelled = canonical.get(fold(value))
            if spelled is None:
                self.issue(f"{path}[{index}]", IssueKind.ERROR, f"unknown value {value!r}")
                continue
            values.append(spelled)
        return tuple(values)

    def ids(self, raw: Any, path: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
        """Object ids mixed with keywords; keywords come back in Graph's spelling."""
        canonical = {fold(k): k for k in keywords}
        values: list[str] = []
        for index, value in enumerate(self.strings(raw, path)):
            keyword = canonical.get(fold(value))
            if keyword is not None:
                values.append(keyword)
                continue
            if PLACEHOLDER.search(value):
                self.issue(f"{path}[{index}]", IssueKind.PLACEHOLDER, f"template placeholder {value!r}")
            elif not GUID.match(value):
                self.issue(f"{path}[{index}]", IssueKind.WARNING, f"{value!r} is neither a GUID nor a keyword")
            values.append(value)
        return tuple(values)

    def filter(self, raw: Any, path: str, dialect: Dialect) -> FilterRule | None:
        data = self.obj(raw, path, "filter")
        if data is None or (data.get("mode") is None and data.get("rule") is None):
            return None
        mode = data.get("mode")
        rule = data.get("rule")
        if not isinstance(mode, str) or fold(mode) not in ("include", "exclude"):
            self.issue(f"{path}.mode", IssueKind.ERROR, f"mode must be include or exclude, found {mode!r}")
            return None
        if not isinstance(rule, str):
            self.issue(f"{path}.rule", IssueKind.ERROR, f"expected a rule string, found {_kind(rule)}")
            return None
        try:
            node = parse_rule(rule, dialect)
        except RuleSyntaxError as exc:
            self.issue(f"{path}.rule", IssueKind.ERROR, f"{exc.message} at position {exc.position}")
            return FilterRule(fold(mode), rule, None)
        return FilterRule(fold(mode), rule, node)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def parse_policy(raw: Mapping[str, Any], base: str = "$", source: str = "") -> ParsedPolicy:
    """One conditionalAccessPolicy (v1.0 or beta, Graph or PowerShell shape) -> Policy plus issues."""
    r = _Reader(base)
    if "Conditions" in raw or "DisplayName" in raw:
        r.pascal = True
        r.issue("", IssueKind.WARNING, "PascalCase keys (PowerShell SDK export); read as camelCase")
    data = r.obj(raw, "", "policy") or {}
    display_name = data.get("displayName")
    if not isinstance(display_name, str):
        r.issue(".displayName", IssueKind.ERROR, f"expected a string, found {_kind(display_name)}")
        display_name = ""
    elif PLACEHOLDER.search(display_name):
        r.issue(".displayName", IssueKind.PLACEHOLDER, f"template placeholder in {display_name!r}")
    policy_id = data.get("id")
    if policy_id is None:
        policy_id = ""
        r.issue(".id", IssueKind.WARNING, "no id (template or trimmed export)")
    elif not isinstance(policy_id, str):
        r.issue(".id", IssueKind.ERROR, f"expected a string, found {_kind(policy_id)}")
        policy_id = ""
    raw_state = data.get("state")
    state = STATES.get(fold(raw_state)) if isinstance(raw_state, str) else None
    if state is None:
        r.issue(".state", IssueKind.ERROR, f"unknown state {raw_state!r}; treated as disabled")
        state = PolicyState.DISABLED
    conditions = _conditions(r, data.get("conditions"))
    grant = _grant_controls(r, data)
    session = _session_controls(r, data.get("sessionControls"))
    template_id = data.get("templateId") if isinstance(data.get("templateId"), str) else None
    policy = Policy(
        id=policy_id,
        display_name=display_name,
        state=state,
        conditions=conditions,
        grant_controls=grant,
        session_controls=session,
        template_id=template_id,
        issues=tuple(r.issues),
        source=source,
    )
    return ParsedPolicy(policy, dict(r.unknown))


def _conditions(r: _Reader, raw: Any) -> Conditions:
    c = r.obj(raw, ".conditions", "conditions")
    if c is None:
        r.issue(".conditions", IssueKind.ERROR, "conditions are required")
        return Conditions()
    p = ".conditions"
    users = _users(r, c.get("users"), f"{p}.users")
    apps = _applications(r, c.get("applications"), f"{p}.applications")
    clients = _client_applications(r, c.get("clientApplications"), f"{p}.clientApplications")
    platforms = _include_exclude(r, c.get("platforms"), f"{p}.platforms", "Platforms", PLATFORMS)
    locations = _locations(r, c.get("locations"), f"{p}.locations")
    devices = _devices(r, c.get("devices"), c.get("deviceStates"), p)
    flows = r.obj(c.get("authenticationFlows"), f"{p}.authenticationFlows", "authenticationFlows")
    transfer = (
        r.enum_values(flows.get("transferMethods"), f"{p}.authenticationFlows.transferMethods", TRANSFER_METHODS)
        if flows
        else ()
    )
    if c.get("times") is not None:
        r.issue(f"{p}.times", IssueKind.WARNING, "the deprecated times condition is not evaluated")
    targets_agents = c.get("agents") is not None or bool(users and "AllAgentIdUsers" in users.include_users)
    if users is None and clients is None:
        r.issue(f"{p}.users", IssueKind.ERROR, "either users or clientApplications is required")
    return Conditions(
        users=users,
        applications=apps,
        client_applications=clients,
        client_app_types=r.enum_values(c.get("clientAppTypes"), f"{p}.clientAppTypes", CLIENT_APP_TYPES),
        platforms=platforms,
        locations=locations,
        devices=devices,
        sign_in_risk_levels=r.enum_values(c.get("signInRiskLevels"), f"{p}.signInRiskLevels", RISK_LEVELS),
        user_risk_levels=r.enum_values(c.get("userRiskLevels"), f"{p}.userRiskLevels", RISK_LEVELS),
        service_principal_risk_levels=r.enum_values(
            c.get("servicePrincipalRiskLevels"), f"{p}.servicePrincipalRiskLevels", RISK_LEVELS
        ),
        insider_risk_levels=r.enum_values(c.get("insiderRiskLevels"), f"{p}.insiderRiskLevels", INSIDER_RISK_LEVELS),
        transfer_methods=tuple(t for t in transfer if t != "none"),
        targets_agents=targets_agents,
    )


def _guests(r: _Reader, raw: Any, path: str) -> GuestsOrExternalUsers | None:
    g = r.obj(raw, path, "guests")
    if g is None or g.get("guestOrExternalUserTypes") is None:
        return None
    types = r.enum_values(g.get("guestOrExternalUserTypes"), f"{path}.guestOrExternalUserTypes", GUEST_TYPES)
    tenants = r.obj(g.get("externalTenants"), f"{path}.externalTenants", "externalTenants")
    external: ExternalTenants | None = None
    if tenants is not None and tenants.get("membershipKind") is not None:
        kind = tenants.get("membershipKind")
        if not isinstance(kind, str) or fold(kind) not in ("all", "enumerated"):
            r.issue(f"{path}.externalTenants.membershipKind", IssueKind.ERROR, f"unknown value {kind!r}")
        else:
            members = r.strings(tenants.get("members"), f"{path}.externalTenants.members")
            external = ExternalTenants(fold(kind), members)
    return GuestsOrExternalUsers(frozenset(t for t in types if t != "none"), external)


def _users(r: _Reader, raw: Any, path: str) -> UsersCondition | None:
    u = r.obj(raw, path, "users")
    if u is None:
        return None
    return UsersCondition(
        include_users=r.ids(u.get("includeUsers"), f"{path}.includeUsers", USER_KEYWORDS),
        exclude_users=r.ids(u.get("excludeUsers"), f"{path}.excludeUsers", USER_KEYWORDS),
        include_groups=r.ids(u.get("includeGroups"), f"{path}.includeGroups", ()),
        exclude_groups=r.ids(u.get("excludeGroups"), f"{path}.excludeGroups", ()),
        include_roles=r.ids(u.get("includeRoles"), f"{path}.includeRoles", ()),
        exclude_roles=r.ids(u.get("excludeRoles"), f"{path}.excludeRoles", ()),
        include_guests_or_external_users=_guests(
            r, u.get("includeGuestsOrExternalUsers"), f"{path}.includeGuestsOrExternalUsers"
        ),
        exclude_guests_or_external_users=_guests(
            r, u.get("excludeGuestsOrExternalUsers"), f"{path}.excludeGuestsOrExternalUsers"
        ),
    )


def _applications(r: _Reader, raw: Any, path: str) -> ApplicationsCondition | None:
    a = r.obj(raw, path, "applications")
    if a is None:
        return None
    actions = r.strings(a.get("includeUserActions"), f"{path}.includeUserActions")
    for index, action in enumerate(actions):
        if fold(action) not in USER_ACTIONS:
            r.issue(f"{path}.includeUserActions[{index}]", IssueKind.ERROR, f"unknown user action {action!r}")
    acrs = r.strings(
        a.get("includeAuthenticationContextClassReferences"),
        f"{path}.includeAuthenticationContextClassReferences",
    )
    return ApplicationsCondition(
        include_applications=r.ids(a.get("includeApplications"), f"{path}.includeApplications", APP_KEYWORDS),
        exclude_applications=r.ids(a.get("excludeApplications"), f"{path}.excludeApplications", APP_KEYWORDS),
        include_user_actions=tuple(fold(x) for x in actions),
        include_authentication_context_class_references=tuple(fold(x) for x in acrs),
        application_filter=r.filter(a.get("applicationFilter"), f"{path}.applicationFilter", APPLICATION_FILTER),
    )


def _client_applications(r: _Reader, raw: Any, path: str) -> ClientApplicationsCondition | None:
    c = r.obj(raw, path, "clientApplications")
    if c is None:
        return None
    include = r.ids(c.get("includeServicePrincipals"), f"{path}.includeServicePrincipals", SP_KEYWORDS)
    agents = r.strings(c.get("includeAgentIdServicePrincipals"), f"{path}.includeAgentIdServicePrincipals")
    sp_filter = r.filter(c.get("servicePrincipalFilter"), f"{path}.servicePrincipalFilter", APPLICATION_FILTER)
    if not include and not agents and sp_filter is None:
        return None  # an all-null object (PowerShell export) means "not configured"
    return ClientApplicationsCondition(
        include_service_principals=include,
        exclude_service_principals=r.ids(
            c.get("excludeServicePrincipals"), f"{path}.excludeServicePrincipals", SP_KEYWORDS
        ),
        service_principal_filter=sp_filter,
        include_agent_id_service_principals=agents,
    )


def _include_exclude(r: _Reader, raw: Any, path: str, noun: str, allowed: tuple[str, ...]) -> IncludeExclude | None:
    d = r.obj(raw, path, fold(noun[0]) + noun[1:], array_is_unset=True)
    if d is None:
        return None
    include = r.enum_values(d.get(f"include{noun}"), f"{path}.include{noun}", allowed)
    exclude = r.enum_values(d.get(f"exclude{noun}"), f"{path}.exclude{noun}", allowed)
    if not include and not exclude:
        return None
    return IncludeExclude(include, exclude)


def _locations(r: _Reader, raw: Any, path: str) -> IncludeExclude | None:
    d = r.obj(raw, path, "locations", array_is_unset=True)
    if d is None:
        return None
    include = r.ids(d.get("includeLocations"), f"{path}.includeLocations", LOCATION_KEYWORDS)
    exclude = r.ids(d.get("excludeLocations"), f"{path}.excludeLocations", LOCATION_KEYWORDS)
    if not include and not exclude:
        return None
    return IncludeExclude(include, exclude)


def _devices(r: _Reader, raw_devices: Any, raw_states: Any, path: str) -> DevicesCondition | None:
    d = r.obj(raw_devices, f"{path}.devices", "devices")
    s = r.obj(raw_states, f"{path}.deviceStates", "deviceStates")
    device_filter = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    if d is not None:
        device_filter = r.filter(d.get("deviceFilter"), f"{path}.devices.deviceFilter", DEVICE_FILTER)
        include = r.enum_values(d.get("includeDevices"), f"{path}.devices.includeDevices", DEVICE_STATES)
        exclude = r.enum_values(d.get("excludeDevices"), f"{path}.devices.excludeDevices", DEVICE_STATES)
        include += r.enum_values(d.get("includeDeviceStates"), f"{path}.devices.includeDeviceStates", DEVICE_STATES)
        exclude += r.enum_values(d.get("excludeDeviceStates"), f"{path}.devices.excludeDeviceStates", DEVICE_STATES)
    if s is not None:
        include += r.enum_values(s.get("includeStates"), f"{path}.deviceStates.includeStates", DEVICE_STATES)
        exclude += r.enum_values(s.get("excludeStates"), f"{path}.deviceStates.excludeStates", DEVICE_STATES)
    if include or exclude:
        r.issue(f"{path}.devices", IssueKind.WARNING, "legacy device-state condition (use deviceFilter)")
        if device_filter is not None:
            r.issue(f"{path}.devices", IssueKind.ERROR, "device filters can't be combined with device states")
    if device_filter is None and not include and not exclude:
        return None
    return DevicesCondition(device_filter, include, exclude)


def _grant_controls(r: _Reader, data: Mapping[str, Any]) -> GrantControls | None:
    g = r.obj(data.get("grantControls"), ".grantControls", "grantControls")
    if g is None:
        return None
    path = ".grantControls"
    operator = g.get("operator", "OR")
    if operator is None:
        operator = "OR"
    if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
        r.issue(f"{path}.operator", IssueKind.ERROR, f"operator must be AND or OR, found {operator!r}")
        operator = "AND"
    terms = r.strings(g.get("termsOfUse"), f"{path}.termsOfUse")
    for index, term in enumerate(terms):
        if not GUID.match(term):
            r.issue(f"{path}.termsOfUse[{index}]", IssueKind.PLACEHOLDER, f"terms of use {term!r} is not a GUID")
    strength = None
    s = r.obj(g.get("authenticationStrength"), f"{path}.authenticationStrength", "authenticationStrength")
    if s is not None and s.get("id") is not None:
        strength = AuthenticationStrength(
            id=str(s["id"]),
            display_name=s.get("displayName") if isinstance(s.get("displayName"), str) else None,
            allowed_combinations=r.strings(
                s.get("allowedCombinations"), f"{path}.authenticationStrength.allowedCombinations"
            ),
            requirements_satisfied=(
                s.get("requirementsSatisfied") if isinstance(s.get("requirementsSatisfied"), str) else None
            ),
        )
    controls = r.enum_values(g.get("builtInControls"), f"{path}.builtInControls", BUILT_IN_CONTROLS)
    if "block" in controls and len(controls) > 1:
        r.issue(f"{path}.builtInControls", IssueKind.ERROR, "block can't be combined with other controls")
    return GrantControls(
        operator=operator.upper(),
        built_in_controls=controls,
        custom_authentication_factors=r.strings(
            g.get("customAuthenticationFactors"), f"{path}.customAuthenticationFactors"
        ),
        terms_of_use=terms,
        authentication_strength=strength,
    )


def _session_controls(r: _Reader, raw: Any) -> tuple[str, ...]:
    s = r.obj(raw, ".sessionControls", "sessionControls")
    if s is None:
        return ()
    enabled: list[str] = []
    for name, value in s.items():
        if isinstance(value, Mapping):
            on = value.get("isEnabled", value.get("IsEnabled")) is True or (
                name == "continuousAccessEvaluation" and value.get("mode", value.get("Mode")) is not None
            )
        else:
            on = value is True
        if on:
            enabled.append(name[:1].upper() + name[1:])
    return tuple(enabled)


# ---------------------------------------------------------------- named locations and devices


def parse_named_location(raw: Mapping[str, Any]) -> NamedLocation:
    """An ipNamedLocation or countryNamedLocation as Graph returns it."""
    ranges: list[IpNetwork] = []
    for item in raw.get("ipRanges") or ():
        cidr = item.get("cidrAddress") if isinstance(item, Mapping) else None
        if isinstance(cidr, str):
            ranges.append(ipaddress.ip_network(cidr, strict=False))
    return NamedLocation(
        id=str(raw.get("id", "")),
        display_name=str(raw.get("displayName") or ""),
        is_trusted=raw.get("isTrusted") is True,
        ip_ranges=tuple(ranges),
        countries_and_regions=frozenset(str(c).upper() for c in raw.get("countriesAndRegions") or ()),
        include_unknown_countries_and_regions=raw.get("includeUnknownCountriesAndRegions") is True,
    )


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _optional_strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def parse_device(raw: Mapping[str, Any]) -> DeviceInfo:
    """A Graph ``device`` object (v1.0 or beta) -> DeviceInfo; unknown properties are ignored."""
    ext = raw.get("extensionAttributes") if isinstance(raw.get("extensionAttributes"), Mapping) else {}
    assert isinstance(ext, Mapping)
    extensions = {str(k): _optional_str(v) for k, v in ext.items() if not str(k).startswith("@")}
    for i in range(1, 16):  # the What-If deviceInfo shape puts them at the top level
        key = f"extensionAttribute{i}"
        if isinstance(raw.get(key), str):
            extensions[key] = raw[key]
    expiry = raw.get("complianceExpirationDateTime")
    compliance_expiration = None
    if isinstance(expiry, str):
        compliance_expiration = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
    compliant = raw.get("isCompliant")
    managed = raw.get("isManaged")
    return DeviceInfo(
        device_id=_optional_str(raw.get("deviceId")),
        display_name=_optional_str(raw.get("displayName")),
        is_compliant=compliant if isinstance(compliant, bool) else None,
        is_managed=managed if isinstance(managed, bool) else None,
        trust_type=_optional_str(raw.get("trustType")),
        device_ownership=_optional_str(raw.get("deviceOwnership", raw.get("ownership"))),
        enrollment_profile_name=_optional_str(raw.get("enrollmentProfileName")),
        manufacturer=_optional_str(raw.get("manufacturer")),
        mdm_app_id=_optional_str(raw.get("mdmAppId")),
        model=_optional_str(raw.get("model")),
        operating_system=_optional_str(raw.get("operatingSystem")),
        operating_system_version=_optional_str(raw.get("operatingSystemVersion")),
        physical_ids=_optional_strings(raw.get("physicalIds")),
        profile_type=_optional_str(raw.get("profileType")),
        system_labels=_optional_strings(raw.get("systemLabels")),
        extension_attributes=extensions,
        compliance_expiration_date_time=compliance_expiration,
    )
