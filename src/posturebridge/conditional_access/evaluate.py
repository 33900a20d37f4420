"""Compile policies once, then evaluate each sign-in against the compiled set.

Compiling turns every policy into a short chain of condition checks (a registry, in the order
Entra reports them) and a grant-control plan; ids are folded into frozensets. Evaluation is pure:
no I/O, the clock comes in as ``now``.

Two paths give the same decision. ``CompiledPolicySet.evaluate_each`` runs every policy's chain
and controls in full: the reference. ``CompiledPolicySet.evaluate``, the one served at every token
request, reuses what earlier sign-ins worked out: each condition's outcome is a function of a few
facts (``stage_keys`` names them, ``controls_key`` for the grant controls), so outcomes and results
are memoised on those facts. A ``DecisionTree`` settles most policies of a sign-in in a few dict
lookups; the policies still going on at its leaf, and those that name one of the user's ids, follow
their own ``Chain``: one dict lookup per remaining condition and one for the controls.
``tests/unit/conditional_access/test_fast_path.py`` and ``test_policy_chains.py`` hold the two paths
equal. Every memo is bounded (``MAX_MEMO`` per policy and stage, ``CHAIN_MEMOS`` times that for a
policy's chains, the tree by its size).

Semantics (learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-policies,
concept-conditional-access-grant, concept-conditional-access-report-only):
assignments are ANDed and the first unsatisfied one is the reason a policy does not apply;
exclusion beats inclusion; disabled policies are ``notEnabled``; report-only policies are evaluated
and never enforced; every applicable enabled policy must be satisfied and a block wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from posturebridge.conditional_access.catalog import APP_GROUPS, MFA_AUTHENTICATION_STRENGTH_ID, app_groups_of
from posturebridge.conditional_access.decision_tree import DecisionTree
from posturebridge.conditional_access.model import (
    FilterRule,
    GuestsOrExternalUsers,
    NamedLocation,
    Policy,
    PolicyState,
    SignInContext,
    fold,
)
from posturebridge.conditional_access.parse import ParsedPolicy, parse_named_location, parse_policy
from posturebridge.conditional_access.result import (
    Access,
    ConditionResult,
    ControlResult,
    Decision,
    PolicyOutcome,
    PolicyResult,
)
from posturebridge.conditional_access.rules import AttributeValue, Comparison, Node, Not

# Bound on each memo keyed by sign-in facts (per policy and stage), which could otherwise grow.
MAX_MEMO = 2048
# A policy's chains (``Chain``) hold at most this many times MAX_MEMO entries before they restart.
CHAIN_MEMOS = 8
_MISSING = object()
_NOTHING: frozenset[str] = frozenset()
_NO_ATTRIBUTES: Mapping[str, AttributeValue] = MappingProxyType({})

LEGACY_CLIENTS = frozenset({"exchangeActiveSync", "other"})

# Error codes (learn.microsoft.com/entra/identity-platform/reference-error-codes).
BLOCKED = 53003  # BlockedByConditionalAccess
DEVICE_NOT_COMPLIANT = 53000
DEVICE_NOT_DOMAIN_JOINED = 53001
APP_NOT_APPROVED = 53002
APP_PROTECTION_REQUIRED = 53009
DEVICE_AUTHENTICATION_REQUIRED = 50097  # no device identity presented: an unregistered device
STRONG_AUTH_REQUIRED = 50076
PASSWORD_CHANGE_REQUIRED = 50142  # PasswordChangeRequiredConditionalAccess (inferred mapping)
EXTERNAL_CHALLENGE = 50158  # terms of use and custom controls are interactive challenges (inferred)

FAILURE_REASONS = {
    BLOCKED: (
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
    ),
    DEVICE_NOT_COMPLIANT: "Application requires a compliant device, and the device is not compliant.",
    DEVICE_NOT_DOMAIN_JOINED: "Application requires a domain-joined device.",
    APP_NOT_APPROVED: "Application used is not an approved app for Conditional Access.",
    APP_PROTECTION_REQUIRED: "Application needs to enforce Intune protection policies.",
    DEVICE_AUTHENTICATION_REQUIRED: "Device authentication is required.",
    STRONG_AUTH_REQUIRED: "You must use multi-factor authentication to access this resource.",
    PASSWORD_CHANGE_REQUIRED: "Password change is required due to a Conditional Access policy.",
    EXTERNAL_CHALLENGE: "An external security challenge (terms of use or custom control) was not satisfied.",
}

# The order in which Entra prompts for unsatisfied controls (concept-conditional-access-policies).
PROMPT_ORDER = {
    name: rank
    for rank, name in enumerate(
        [
            "block",
            "mfa",
            "authenticationStrength",
            "riskRemediation",
            "compliantDevice",
            "domainJoinedDevice",
            "approvedApplication",
            "compliantApplication",
            "passwordChange",
            "termsOfUse",
            "customAuthenticationFactor",
        ]
    )
}

# Sign-in log spellings of grant controls; "Mfa" and "RequireCompliantDevice" are in the Graph
# signIn examples, the rest follow their pattern.
ENFORCED_GRANT_NAMES = {
    "block": "Block",
    "mfa": "Mfa",
    "compliantDevice": "RequireCompliantDevice",
    "domainJoinedDevice": "RequireDomainJoinedDevice",
    "approvedApplication": "RequireApprovedApp",
    "compliantApplication": "RequireCompliantApp",
    "passwordChange": "RequirePasswordChange",
    "riskRemediation": "RiskRemediation",
}


# ---------------------------------------------------------------- per-decision facts


class Facts:
    """The sign-in context reduced once per decision to what the compiled checks test."""

    __slots__ = (
        "_device_attributes",
        "app_keys",
        "authentication_context",
        "client_app_type",
        "ctx",
        "is_external",
        "legacy_client",
        "location_keys",
        "now",
        "platform",
        "principal_keys",
        "sp_attributes",
        "stage_keys",
        "user_action",
    )

    def __init__(
        self,
        ctx: SignInContext,
        locations: Sequence[NamedLocation],
        now: datetime,
        location_memo: dict[tuple[str | None, str | None], frozenset[str]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.now = now
        self.stage_keys: dict[str, Hashable] = {}
        user = ctx.user
        sp = ctx.service_principal
        self.is_external = False
        self.sp_attributes: Mapping[str, AttributeValue] = _NO_ATTRIBUTES
        if user is not None and sp is None:
            # str.casefold is ``fold``, mapped directly: this runs at every decision.
            self.principal_keys = frozenset(
                (user.id.casefold(), *map(str.casefold, user.group_ids), *map(str.casefold, user.role_template_ids))
            )
        else:
            keys: set[str] = set()
            if user is not None:
                keys.add(fold(user.id))
                keys.update(fold(g) for g in user.group_ids)
                keys.update(fold(r) for r in user.role_template_ids)
            if sp is not None:
                keys.add(fold(sp.id))
                self.sp_attributes = dict(sp.custom_security_attributes)
            self.principal_keys = frozenset(keys)
        if user is not None:
            self.is_external = fold(user.user_type) == "guest" or user.guest_or_external_user_type not in (
                None,
                "none",
            )
        app = ctx.application
        self.app_keys: frozenset[str] = frozenset()
        if app is not None:
            groups = app.app_groups if app.app_groups is not None else app_groups_of(app.app_id)
            self.app_keys = frozenset({app.app_id.casefold(), *map(str.casefold, groups)})
        self.user_action = fold(ctx.user_action) if ctx.user_action else None
        self.authentication_context = (
            frozenset(map(str.casefold, ctx.authentication_context)) if ctx.authentication_context else _NOTHING
        )
        self.client_app_type = fold(ctx.client_app_type)
        self.legacy_client = ctx.client_app_type in LEGACY_CLIENTS
        self.platform = fold(ctx.device_platform) if ctx.device_platform else None
        if location_memo is None:
            self.location_keys = _location_keys(ctx, locations)
        else:
            # Parsing the address and testing every range is the dearest part of the facts.
            where = (ctx.ip_address, ctx.country)
            location_keys = location_memo.get(where)
            if location_keys is None:
                if len(location_memo) >= MAX_MEMO:
                    location_memo.clear()
                location_keys = location_memo[where] = _location_keys(ctx, locations)
            self.location_keys = location_keys
        self._device_attributes: Mapping[str, AttributeValue] | None = None

    @property
    def device_attributes(self) -> Mapping[str, AttributeValue]:
        """Device-filter attributes, computed on first use (most decisions never need them)."""
        if self._device_attributes is None:
            device = self.ctx.device
            self._device_attributes = device.filter_attributes() if device is not None else {}
        return self._device_attributes


def _location_keys(ctx: SignInContext, locations: Sequence[NamedLocation]) -> frozenset[str]:
    keys = {"all"}
    address = None
    if ctx.ip_address:
        try:
            address = ipaddress.ip_address(ctx.ip_address)
        except ValueError:
            address = None
    country = ctx.country.upper() if ctx.country else None
    for location in locations:
        inside = False
        if address is not None and any(address in network for network in location.ip_ranges):
            inside = True
        elif location.countries_and_regions or location.include_unknown_countries_and_regions:
            if country is None:
                inside = location.include_unknown_countries_and_regions
            else:
                inside = country in location.countries_and_regions
        if inside:
            keys.add(fold(location.id))
            if location.is_trusted:
                keys.add("alltrusted")
    return frozenset(keys)


# ---------------------------------------------------------------- condition checks


Check = Callable[[Facts], ConditionResult]


class _Results:
    """Interned ConditionResults: a decision mostly reuses the same few outcomes per policy."""

    def __init__(self, condition: str, analysis_reason: str) -> None:
        self.condition = condition
        self.analysis_reason = analysis_reason
        self.cache: dict[tuple[bool, str, str], ConditionResult] = {}

    def get(self, satisfied: bool, rule: str, detail: str) -> ConditionResult:
        key = (satisfied, rule, detail)
        result = self.cache.get(key)
        if result is None:
            result = ConditionResult(self.condition, satisfied, rule, detail, self.analysis_reason)
            self.cache[key] = result
        return result


def _guest_matches(spec: GuestsOrExternalUsers | None, facts: Facts) -> bool:
    user = facts.ctx.user
    if spec is None or user is None or not facts.is_external:
        return False
    kind = user.guest_or_external_user_type or "b2bCollaborationGuest"
    if kind not in spec.guest_or_external_user_types:
        return False
    tenants = spec.external_tenants
    if tenants is None or tenants.membership_kind == "all":
        return True
    return user.home_tenant_id is not None and fold(user.home_tenant_id) in {fold(m) for m in tenants.members}


class UsersCheck:
    def __init__(self, policy: Policy) -> None:
        users = policy.conditions.users
        clients = policy.conditions.client_applications
        self.users = users
        self.targets_users = users is not None and not users.is_empty
        self.targets_workloads = clients is not None
        self.r = _Results("users", "users")
        self.w = _Results("servicePrincipals", "workloadIdentities")
        kinds: dict[str, str] = {}
        include: dict[str, str] = {}
        exclude: dict[str, str] = {}
        if users is not None:
            for values, rule, target in (
                (users.include_users, "userId", include),
                (users.include_groups, "groupId", include),
                (users.include_roles, "roleId", include),
                (users.exclude_users, "userId", exclude),
                (users.exclude_groups, "groupId", exclude),
                (users.exclude_roles, "roleId", exclude),
            ):
                for value in values:
                    if value not in ("All", "None", "GuestsOrExternalUsers", "AllAgentIdUsers"):
                        target[fold(value)] = rule
                        kinds[fold(value)] = value
        self.include = include
        self.exclude = exclude
        self.include_keys = frozenset(include)
        self.exclude_keys = frozenset(exclude)
        self.named_keys = self.include_keys | self.exclude_keys
        self.names = kinds
        self.include_all = users is not None and "All" in users.include_users
        self.include_guests = users is not None and "GuestsOrExternalUsers" in users.include_users
        self.exclude_guests = users is not None and "GuestsOrExternalUsers" in users.exclude_users
        self.sp = SpCheck(policy) if clients is not None else None

    def outcome_without_ids(self, facts: Facts) -> ConditionResult:
        """The outcome for a signed-in user none of whose ids this policy names: guest rules only.

        Reads nothing but ``is_external`` and the user's guest type and home tenant, so the
        decision tree can share it between every user with the same guest profile.
        """
        r = self.r
        if not self.targets_users:
            return r.get(False, "none", "policy targets workload identities only")
        users = self.users
        assert users is not None
        if self.exclude_guests and facts.is_external:
            return r.get(False, "guest", "excluded: GuestsOrExternalUsers")
        if _guest_matches(users.exclude_guests_or_external_users, facts):
            return r.get(False, "guest", "excluded: guest or external user type")
        if self.include_all:
            return r.get(True, "allUsers", "included: All users")
        if self.include_guests and facts.is_external:
            return r.get(True, "guest", "included: GuestsOrExternalUsers")
        if _guest_matches(users.include_guests_or_external_users, facts):
            return r.get(True, "guest", "included: guest or external user type")
        return r.get(False, "none", "not included by any user, group, role or guest rule")

    def __call__(self, facts: Facts) -> ConditionResult:
        if facts.ctx.user is None:
            if self.sp is None:
                return self.w.get(False, "none", "policy targets users; this is a workload identity sign-in")
            return self.sp(facts)
        r = self.r
        if not self.targets_users:
            return r.get(False, "none", "policy targets workload identities only")
        keys = facts.principal_keys
        if not self.exclude_keys.isdisjoint(keys):
            hit = min(self.exclude_keys & keys)
            return r.get(False, self.exclude[hit], f"excluded: {self.exclude[hit][:-2]} {self.names[hit]}")
        assert self.users is not None
        if self.exclude_guests and facts.is_external:
            return r.get(False, "guest", "excluded: GuestsOrExternalUsers")
        if _guest_matches(self.users.exclude_guests_or_external_users, facts):
            return r.get(False, "guest", "excluded: guest or external user type")
        if self.include_all:
            return r.get(True, "allUsers", "included: All users")
        if not self.include_keys.isdisjoint(keys):
            hit = min(self.include_keys & keys)
            return r.get(True, self.include[hit], f"included: {self.include[hit][:-2]} {self.names[hit]}")
        if self.include_guests and facts.is_external:
            return r.get(True, "guest", "included: GuestsOrExternalUsers")
        if _guest_matches(self.users.include_guests_or_external_users, facts):
            return r.get(True, "guest", "included: guest or external user type")
        return r.get(False, "none", "not included by any user, group, role or guest rule")


def _filter_matches(rule: FilterRule, attributes: Mapping[str, AttributeValue]) -> bool | None:
    """True/False, or None when the rule did not parse (the caller fails closed)."""
    if rule.node is None:
        return None
    return rule.node.evaluate(attributes)


class SpCheck:
    def __init__(self, policy: Policy) -> None:
        clients = policy.conditions.client_applications
        assert clients is not None
        self.include = frozenset(fold(v) for v in clients.include_service_principals)
        self.exclude = frozenset(fold(v) for v in clients.exclude_service_principals)
        self.filter = clients.service_principal_filter
        self.r = _Results("servicePrincipals", "workloadIdentities")

    def __call__(self, facts: Facts) -> ConditionResult:
        sp = facts.ctx.service_principal
        assert sp is not None
        r = self.r
        key = fold(sp.id)
        if key in self.exclude:
            return r.get(False, "servicePrincipalId", f"excluded: service principal {sp.id}")
        flt = self.filter
        if flt is not None and flt.mode == "exclude" and _filter_matches(flt, facts.sp_attributes):
            return r.get(False, "servicePrincipalFilter", "excluded by the service principal filter")
        if key in self.include:
            return r.get(True, "servicePrincipalId", f"included: service principal {sp.id}")
        if "all" in self.include or ("serviceprincipalsinmytenant" in self.include and sp.owned_by_tenant):
            return r.get(True, "allServicePrincipals", "included: service principals in my tenant")
        if flt is not None and flt.mode == "include" and _filter_matches(flt, facts.sp_attributes):
            return r.get(True, "servicePrincipalFilter", "included by the service principal filter")
        return r.get(False, "none", "service principal not included")


class ApplicationsCheck:
    def __init__(self, policy: Policy) -> None:
        apps = policy.conditions.applications
        assert apps is not None
        self.include = frozenset(fold(v) for v in apps.include_applications)
        self.exclude = frozenset(fold(v) for v in apps.exclude_applications)
        self.actions = frozenset(apps.include_user_actions)
        self.acrs = frozenset(apps.include_authentication_context_class_references)
        self.filter = apps.application_filter
        self.r = _Results("application", "application")
        self.ua = _Results("application", "userActions")
        self.ac = _Results("application", "authenticationContext")
        self.groups = {fold(name): name for name in APP_GROUPS}

    def __call__(self, facts: Facts) -> ConditionResult:
        if facts.user_action is not None:
            if facts.user_action in self.actions:
                return self.ua.get(True, "userAction", f"included: user action {facts.user_action}")
            return self.ua.get(False, "none", f"user action {facts.user_action} not included")
        if facts.authentication_context:
            contexts = self.acrs & facts.authentication_context
            if contexts:
                return self.ac.get(True, "acr", f"included: authentication context {min(contexts)}")
            return self.ac.get(False, "none", "authentication context not included")
        r = self.r
        app = facts.ctx.application
        if app is None:
            return r.get(False, "none", "no resource application in the sign-in")
        keys = facts.app_keys
        if not self.exclude.isdisjoint(keys):
            hit = min(self.exclude & keys)
            if hit in self.groups:
                return r.get(False, _rule_for_group(hit), f"excluded: {self.groups[hit]}")
            return r.get(False, "appId", f"excluded: application {app.app_id}")
        flt = self.filter
        attributes: Mapping[str, AttributeValue] = app.custom_security_attributes
        if flt is not None and flt.mode == "exclude" and _filter_matches(flt, attributes):
            return r.get(False, "appFilter", "excluded by the application filter")
        if "all" in self.include:
            return r.get(True, "allApps", "included: All resources")
        if not self.include.isdisjoint(keys):
            hit = min(self.include & keys)
            if hit in self.groups:
                return r.get(True, _rule_for_group(hit), f"included: {self.groups[hit]}")
            return r.get(True, "appId", f"included: application {app.app_id}")
        if flt is not None and flt.mode == "include" and _filter_matches(flt, attributes):
            return r.get(True, "appFilter", "included by the application filter")
        return r.get(False, "none", f"application {app.app_id} not included")


def _rule_for_group(key: str) -> str:
    return "office365" if key == "office365" else "microsoftAdminPortals"


class ClientAppTypesCheck:
    def __init__(self, policy: Policy) -> None:
        types = {fold(t) for t in policy.conditions.client_app_types}
        if "eassupported" in types:
            types.add("exchangeactivesync")
        self.types = frozenset(types)
        self.r = _Results("clientType", "clientApps")

    def __call__(self, facts: Facts) -> ConditionResult:
        if facts.client_app_type in self.types:
            return self.r.get(True, "clientType", f"included: client app {facts.ctx.client_app_type}")
        return self.r.get(False, "none", f"client app {facts.ctx.client_app_type} not included")


class PlatformsCheck:
    def __init__(self, policy: Policy) -> None:
        platforms = policy.conditions.platforms
        assert platforms is not None
        self.include = frozenset(fold(p) for p in platforms.include)
        self.exclude = frozenset(fold(p) for p in platforms.exclude)
        self.r = _Results("devicePlatform", "devicePlatform")

    def __call__(self, facts: Facts) -> ConditionResult:
        platform = facts.platform
        shown = facts.ctx.device_platform or "unknown"
        if platform is not None and platform in self.exclude:
            return self.r.get(False, "devicePlatform", f"excluded: platform {shown}")
        if "all" in self.include:
            return self.r.get(True, "allDevicePlatforms", f"included: all platforms ({shown})")
        if platform is not None and platform in self.include:
            return self.r.get(True, "devicePlatform", f"included: platform {shown}")
        return self.r.get(False, "none", f"platform {shown} not included")


class LocationsCheck:
    def __init__(self, policy: Policy) -> None:
        locations = policy.conditions.locations
        assert locations is not None
        self.include = frozenset(fold(v) for v in locations.include)
        self.exclude = frozenset(fold(v) for v in locations.exclude)
        self.r = _Results("location", "location")

    def __call__(self, facts: Facts) -> ConditionResult:
        keys = facts.location_keys
        if not self.exclude.isdisjoint(keys):
            hit = min(self.exclude & keys)
            if hit == "all":
                return self.r.get(False, "allLocations", "excluded: any location")
            if hit == "alltrusted":
                return self.r.get(False, "allTrustedLocations", "excluded: a trusted location")
            return self.r.get(False, "locationId", f"excluded: named location {hit}")
        if "all" in self.include:
            return self.r.get(True, "allLocations", "included: any location")
        if not self.include.isdisjoint(keys):
            hit = min(self.include & keys)
            rule = "allTrustedLocations" if hit == "alltrusted" else "locationId"
            return self.r.get(True, rule, f"included: location {hit}")
        return self.r.get(False, "none", "sign-in location not included")


class DevicesCheck:
    def __init__(self, policy: Policy) -> None:
        devices = policy.conditions.devices
        assert devices is not None
        self.filter = devices.device_filter
        self.include_states = frozenset(fold(s) for s in devices.include_states)
        self.exclude_states = frozenset(fold(s) for s in devices.exclude_states)
        self.r = _Results("deviceState", "devices")

    def __call__(self, facts: Facts) -> ConditionResult:
        r = self.r
        device = facts.ctx.device
        if self.exclude_states:
            if "compliant" in self.exclude_states and device is not None and device.is_compliant:
                return r.get(False, "deviceState", "excluded: device state Compliant")
            if (
                "domainjoined" in self.exclude_states
                and device is not None
                and fold(device.trust_type or "") == "serverad"
            ):
                return r.get(False, "deviceState", "excluded: device state DomainJoined")
        if self.include_states and "all" not in self.include_states:
            return r.get(False, "none", "device state not included")
        flt = self.filter
        if flt is None:
            return r.get(True, "allDeviceStates", "included: all device states")
        matched = _filter_matches(flt, facts.device_attributes)
        registered = "registered" if device is not None else "unregistered"
        if flt.mode == "include":
            if matched:
                return r.get(True, "deviceFilter", f"included: device filter matches ({registered} device)")
            return r.get(
                False,
                "deviceFilterIncludeRuleNotMatched",
                f"device filter does not match ({registered} device)",
            )
        if matched:
            return r.get(False, "deviceFilter", f"excluded: device filter matches ({registered} device)")
        if matched is None:
            return r.get(True, "allDevices", "device filter does not parse; not excluded (fail closed)")
        return r.get(True, "allDevices", f"device filter does not exclude ({registered} device)")


class LevelCheck:
    """signInRisk, userRisk, servicePrincipalRisk, insiderRisk, authenticationFlows: a value in a set."""

    def __init__(
        self, condition: str, reason: str, levels: Iterable[str], value: Callable[[SignInContext], str | None]
    ) -> None:
        self.levels = frozenset(fold(level) for level in levels)
        self.value = value
        self.r = _Results(condition, reason)

    def __call__(self, facts: Facts) -> ConditionResult:
        value = self.value(facts.ctx)
        if value is not None and fold(value) in self.levels:
            return self.r.get(True, self.r.condition, f"included: {value}")
        return self.r.get(False, "none", f"{value or 'none'} not included")


ConditionFactory = Callable[[Policy], Check | None]


def _client_app_types(policy: Policy) -> Check | None:
    types = {fold(t) for t in policy.conditions.client_app_types}
    return None if not types or "all" in types else ClientAppTypesCheck(policy)


# Level conditions: (condition, analysis reason, the policy's levels, the sign-in's value).
LEVELS: list[tuple[str, str, Callable[[Policy], tuple[str, ...]], Callable[[SignInContext], str | None]]] = [
    ("signInRisk", "signInRisk", lambda p: p.conditions.sign_in_risk_levels, lambda c: c.sign_in_risk),
    ("userRisk", "userRisk", lambda p: p.conditions.user_risk_levels, lambda c: c.user_risk),
    (
        "servicePrincipalRisk",
        "workloadIdentities",
        lambda p: p.conditions.service_principal_risk_levels,
        lambda c: c.service_principal_risk,
    ),
    ("insiderRisk", "insiderRisk", lambda p: p.conditions.insider_risk_levels, lambda c: c.insider_risk),
    (
        "authenticationFlows",
        "authenticationFlow",
        lambda p: p.conditions.transfer_methods,
        lambda c: c.authentication_flow,
    ),
]


def _level(
    condition: str,
    reason: str,
    attribute: Callable[[Policy], tuple[str, ...]],
    value: Callable[[SignInContext], str | None],
) -> ConditionFactory:
    def factory(policy: Policy) -> Check | None:
        levels = attribute(policy)
        return LevelCheck(condition, reason, levels, value) if levels else None

    return factory


# The registry: the order is the order of reasons in results and what-if analysisReasons.
CONDITIONS: list[tuple[str, ConditionFactory]] = [
    ("users", UsersCheck),
    ("application", lambda p: ApplicationsCheck(p) if p.conditions.applications is not None else None),
    ("clientType", _client_app_types),
    ("devicePlatform", lambda p: PlatformsCheck(p) if p.conditions.platforms is not None else None),
    ("location", lambda p: LocationsCheck(p) if p.conditions.locations is not None else None),
    ("deviceState", lambda p: DevicesCheck(p) if p.conditions.devices is not None else None),
    *((condition, _level(condition, reason, attribute, value)) for condition, reason, attribute, value in LEVELS),
]


# ---------------------------------------------------------------- what each condition reads


StageKey = Callable[[Facts], Hashable]


def _frozen(value: object) -> Hashable:
    """A hashable stand-in for an attribute value: declared as tuples, but untyped callers pass lists."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def stage_keys(
    device_filter_attributes: Sequence[str], application_filter_attributes: Sequence[str]
) -> dict[str, StageKey]:
    """For every condition after users: a key of everything its checks read from the sign-in.

    Two sign-ins with equal keys get the same outcome from every policy's check of that condition.
    The decision tree branches on these keys, so an input missing here would be a wrong result;
    the filter attributes are the ones the compiled policies' filters name.
    """

    def application(facts: Facts) -> Hashable:
        app = facts.ctx.application
        if app is None:
            return (facts.user_action, facts.authentication_context)
        attributes = app.custom_security_attributes
        named = tuple(_frozen(attributes.get(name)) for name in application_filter_attributes)
        return (facts.user_action, facts.authentication_context, app.app_id, facts.app_keys, named)

    def device_state(facts: Facts) -> Hashable:
        device = facts.ctx.device
        if device is None:
            return None
        attributes = facts.device_attributes if device_filter_attributes else {}
        named = tuple(_frozen(attributes.get(name)) for name in device_filter_attributes)
        return (bool(device.is_compliant), fold(device.trust_type or "") == "serverad", named)

    keys: dict[str, StageKey] = {
        "application": application,
        "clientType": lambda facts: facts.ctx.client_app_type,
        "devicePlatform": lambda facts: facts.ctx.device_platform,
        "location": lambda facts: facts.location_keys,
        "deviceState": device_state,
    }
    for condition, _, _, value in LEVELS:
        keys[condition] = lambda facts, value=value: value(facts.ctx)  # type: ignore[misc]
    return keys


def controls_key(facts: Facts) -> Hashable:
    """Everything the grant-control checks below read from the sign-in."""
    ctx = facts.ctx
    sat = ctx.satisfied
    device = ctx.device
    device_state = None
    if device is not None:
        expiry = device.compliance_expiration_date_time
        device_state = (
            device.is_compliant is True,
            expiry is None or facts.now < expiry,
            fold(device.trust_type or "") == "serverad",
        )
    return (
        facts.legacy_client,
        ctx.authentication_flow == "deviceCodeFlow",
        device_state,
        sat.mfa,
        frozenset(sat.authentication_strengths),
        frozenset(sat.terms_of_use),
        frozenset(sat.custom_authentication_factors),
        sat.approved_application,
        sat.compliant_application,
        sat.password_changed,
        sat.risk_remediated,
    )


def filter_attributes(rules: Iterable[FilterRule | None]) -> tuple[str, ...]:
    """The attribute names these filters mention, sorted (what their outcome can depend on)."""
    names: set[str] = set()
    stack: list[Node] = [rule.node for rule in rules if rule is not None and rule.node is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            names.add(node.attribute)
        elif isinstance(node, Not):
            stack.append(node.operand)
        else:
            stack.extend(node.operands)
    return tuple(sorted(names))


# ---------------------------------------------------------------- grant controls


ControlCheck = Callable[[Facts], ControlResult]


def _control(name: str) -> Callable[[Facts], ControlResult]:
    ok = ControlResult(name, True, False, 0, "satisfied")

    def check(facts: Facts) -> ControlResult:
        ctx = facts.ctx
        sat = ctx.satisfied
        device = ctx.device
        interactive = not facts.legacy_client
        if name == "block":
            return ControlResult(name, False, False, BLOCKED, "access blocked")
        if name == "mfa":
            if sat.mfa:
                return ok
            return ControlResult(name, False, interactive, STRONG_AUTH_REQUIRED, "multifactor authentication required")
        if name == "riskRemediation":
            if sat.risk_remediated:
                return ok
            return ControlResult(name, False, interactive, STRONG_AUTH_REQUIRED, "risk remediation required")
        if name == "passwordChange":
            if sat.password_changed:
                return ok
            return ControlResult(name, False, interactive, PASSWORD_CHANGE_REQUIRED, "password change required")
        if name in ("compliantDevice", "domainJoinedDevice"):
            if device is None:
                return ControlResult(
                    name,
                    False,
                    False,
                    DEVICE_AUTHENTICATION_REQUIRED,
                    "unregistered device cannot satisfy it",
                )
            if ctx.authentication_flow == "deviceCodeFlow" or facts.legacy_client:
                return ControlResult(name, False, False, BLOCKED, "this client or flow cannot present device state")
            if name == "compliantDevice":
                expiry = device.compliance_expiration_date_time
                if device.is_compliant is True and (expiry is None or facts.now < expiry):
                    return ok
                detail = "device is not compliant" if device.is_compliant is not True else "compliance has expired"
                return ControlResult(name, False, False, DEVICE_NOT_COMPLIANT, detail)
            if fold(device.trust_type or "") == "serverad":
                return ok
            return ControlResult(name, False, False, DEVICE_NOT_DOMAIN_JOINED, "device is not hybrid joined")
        if name == "approvedApplication":
            if sat.approved_application:
                return ok
            return ControlResult(name, False, False, APP_NOT_APPROVED, "client app is not an approved app")
        if name == "compliantApplication":
            if sat.compliant_application:
                return ok
            return ControlResult(name, False, False, APP_PROTECTION_REQUIRED, "client app has no protection policy")
        return ControlResult(name, False, False, BLOCKED, f"unsupported control {name}")

    return check


def _strength(strength_id: str, name: str | None) -> ControlCheck:
    label = name or strength_id
    ok = ControlResult("authenticationStrength", True, False, 0, f"satisfied: {label}")

    def check(facts: Facts) -> ControlResult:
        sat = facts.ctx.satisfied
        if strength_id in sat.authentication_strengths or (strength_id == MFA_AUTHENTICATION_STRENGTH_ID and sat.mfa):
            return ok
        return ControlResult(
            "authenticationStrength",
            False,
            not facts.legacy_client,
            STRONG_AUTH_REQUIRED,
            f"authentication strength {label} required",
        )

    return check


def _terms(term_id: str) -> ControlCheck:
    def check(facts: Facts) -> ControlResult:
        if term_id in facts.ctx.satisfied.terms_of_use:
            return ControlResult("termsOfUse", True, False, 0, f"accepted: {term_id}")
        interactive = not facts.legacy_client
        return ControlResult("termsOfUse", False, interactive, EXTERNAL_CHALLENGE, f"terms of use {term_id} required")

    return check


def _custom(factor: str) -> ControlCheck:
    def check(facts: Facts) -> ControlResult:
        if factor in facts.ctx.satisfied.custom_authentication_factors:
            return ControlResult("customAuthenticationFactor", True, False, 0, f"satisfied: {factor}")
        interactive = not facts.legacy_client
        return ControlResult(
            "customAuthenticationFactor",
            False,
            interactive,
            EXTERNAL_CHALLENGE,
            f"custom control {factor} required",
        )

    return check


# ---------------------------------------------------------------- compiled policies


class Chain:
    """A policy's condition chain past ``outcomes`` (every one satisfied), and what comes next.

    ``next`` maps the stage key of the next condition to the chain past it, or to the policy's
    notApplied result when that condition is not satisfied; on a ``complete`` chain (every
    condition holds) ``results`` maps a controls token to the applied result. A decision thus
    follows one dict lookup per condition instead of building outcome tuples. Chains are shared by
    outcome identities (``ids``), so two keys with the same outcome lead to the same chain. Only
    memos: every entry is what ``CompiledPolicy.evaluate`` would give for a sign-in with those keys,
    so a chain emptied by the bound (``CompiledPolicy._remember``) stays right and refills.
    """

    __slots__ = ("at", "complete", "ids", "kind", "next", "outcomes", "results")

    def __init__(self, outcomes: tuple[ConditionResult, ...], ids: tuple[int, ...], kinds: tuple[str, ...]) -> None:
        self.outcomes = outcomes
        self.ids = ids
        self.at = len(outcomes)  # position of the next condition
        self.complete = self.at == len(kinds)
        self.kind = "" if self.complete else kinds[self.at]  # the next condition
        self.next: dict[Hashable, Chain | PolicyResult] = {}
        self.results: dict[object, PolicyResult] = {}


@dataclass(frozen=True, slots=True)
class _Verdict:
    satisfied: bool
    interactive: bool


class CompiledPolicy:
    """One policy, ready to evaluate: its condition chain and its grant-control plan."""

    __slots__ = (
        "_filled",
        "_users",
        "applied",
        "chain_entries",
        "chains",
        "checks",
        "controls",
        "enabled",
        "enforced_grant_controls",
        "enforced_session_controls",
        "kinds",
        "length",
        "not_applied",
        "not_enabled",
        "operator_and",
        "outcomes",
        "policy",
        "report_only",
        "stages",
        "users",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.enabled = policy.state is PolicyState.ENABLED
        self.report_only = policy.state is PolicyState.REPORT_ONLY
        grant = policy.grant_controls
        controls: list[ControlCheck] = []
        names: list[str] = []
        self.operator_and = True
        if grant is not None:
            self.operator_and = grant.operator == "AND"
            for control in grant.built_in_controls:
                controls.append(_control(control))
                names.append(ENFORCED_GRANT_NAMES.get(control, control))
            if grant.authentication_strength is not None:
                s = grant.authentication_strength
                controls.append(_strength(s.id, s.display_name))
                names.append("AuthenticationStrength")
            for term in grant.terms_of_use:
                controls.append(_terms(term))
                names.append("TermsOfUse")
            for factor in grant.custom_authentication_factors:
                controls.append(_custom(factor))
                names.append(factor)
        self.controls = tuple(controls)
        self.enforced_grant_controls = tuple(names)
        self.enforced_session_controls = policy.session_controls
        self.not_enabled = PolicyResult(
            policy.id, policy.display_name, policy.state.value, PolicyOutcome.NOT_ENABLED, (), (), (), ()
        )
        self.not_applied: dict[tuple[int, ...], PolicyResult] = {}
        # (identities of the condition outcomes, controls token) -> result of an applying policy
        self.applied: dict[tuple[tuple[int, ...], object], PolicyResult] = {}
        self._users: dict[Hashable, Chain | PolicyResult] = {}
        # outcome identities -> the chain past them; bounded with the entries of every chain
        self.chains: dict[tuple[int, ...], Chain] = {}
        self._filled: list[Chain] = []
        self.chain_entries = 0
        # The same chain, named by condition, for the decision tree (users is always first).
        self.stages: tuple[tuple[str, Check], ...] = tuple(
            (name, check) for name, factory in CONDITIONS if (check := factory(policy)) is not None
        )
        self.checks = tuple(check for _, check in self.stages)
        # per stage: stage key -> outcome (the users stage is never memoised: ids decide it)
        self.outcomes: tuple[dict[Hashable, ConditionResult], ...] = tuple({} for _ in self.stages)
        self.length = len(self.stages)
        self.kinds = tuple(kind for kind, _ in self.stages)
        users = self.checks[0]
        assert isinstance(users, UsersCheck)
        self.users = users

    def evaluate(self, facts: Facts) -> PolicyResult:
        """This policy's result, running its whole condition chain and grant controls."""
        if not (self.enabled or self.report_only):
            return self.not_enabled
        outcomes: list[ConditionResult] = []
        for check in self.checks:
            outcome = check(facts)
            outcomes.append(outcome)
            if not outcome.satisfied:
                return self.not_applied_result(outcomes)
        return self.applied_result(tuple(outcomes), facts)

    def chain(self, outcomes: tuple[ConditionResult, ...]) -> Chain:
        """The chain after ``outcomes`` (every one satisfied), shared by every path that reaches them."""
        ids = tuple(map(id, outcomes))
        chain = self.chains.get(ids)
        if chain is None:
            chain = self.chains[ids] = Chain(outcomes, ids, self.kinds)
        return chain

    def resume(self, chain: Chain, facts: Facts, keys: Mapping[str, StageKey], controls: object) -> PolicyResult:
        """This sign-in's result from ``chain`` on: one dict lookup per remaining condition.

        Stage keys come from ``facts.stage_keys`` (computed once per decision with ``keys``), the
        applied result from ``controls``, the decision's token for ``controls_key(facts)``.
        """
        known = facts.stage_keys
        while not chain.complete:
            kind = chain.kind
            key = known.get(kind, _MISSING)
            if key is _MISSING:
                key = known[kind] = keys[kind](facts)
            step = chain.next.get(key)
            if step is None:
                step = self.step(chain, key, facts)
            if isinstance(step, PolicyResult):
                return step
            chain = step
        result = chain.results.get(controls)
        if result is None:
            result = self.applied_after(chain, facts, controls)
        return result

    def step(self, chain: Chain, key: Hashable, facts: Facts) -> Chain | PolicyResult:
        """Where ``chain`` goes when its next condition's stage key is ``key``; memoised in the chain."""
        outcome = self.outcome_at(chain.at, key, facts)
        outcomes = (*chain.outcomes, outcome)
        after = self.chain(outcomes) if outcome.satisfied else self.not_applied_result(outcomes)
        self._remember(chain, chain.next, key, after)
        return after

    def applied_after(self, chain: Chain, facts: Facts, controls: object) -> PolicyResult:
        """The result of a complete ``chain`` for the controls token ``controls``; memoised in the chain."""
        key = (chain.ids, controls)
        result = self.applied.get(key)
        if result is None:
            if len(self.applied) >= MAX_MEMO:
                self.applied.clear()
            result = self.applied[key] = self.applied_result(chain.outcomes, facts)
        self._remember(chain, chain.results, controls, result)
        return result

    def _remember(self, chain: Chain, memo: dict[Any, Any], key: Hashable, value: Chain | PolicyResult) -> None:
        # Every chain holding an entry is in ``_filled``, so emptying them all bounds the memory.
        if not (chain.next or chain.results):
            self._filled.append(chain)
        memo[key] = value
        self.chain_entries += 1
        if self.chain_entries > CHAIN_MEMOS * MAX_MEMO:
            for filled in self._filled:
                filled.next.clear()
                filled.results.clear()
            self._filled = []
            self.chains = {}
            self.chain_entries = 0

    def outcome_at(self, position: int, key: Hashable, facts: Facts) -> ConditionResult:
        """The outcome of the condition at ``position`` (not users), memoised on its stage key."""
        memo = self.outcomes[position]
        outcome = memo.get(key)
        if outcome is None:
            if len(memo) >= MAX_MEMO:
                memo.clear()
            outcome = memo[key] = self.checks[position](facts)
        return outcome

    def users_step(self, facts: Facts, profile: Hashable) -> Chain | PolicyResult:
        """After the users condition for a signed-in user: memoised on the ids it names and ``profile``."""
        key = (profile, self.users.named_keys & facts.principal_keys)
        after = self._users.get(key)
        if after is None:
            if len(self._users) >= MAX_MEMO:
                self._users.clear()
            outcome = self.users(facts)
            after = self._users[key] = (
                self.chain((outcome,)) if outcome.satisfied else self.not_applied_result((outcome,))
            )
        return after

    def applied_result(self, outcomes: tuple[ConditionResult, ...], facts: Facts) -> PolicyResult:
        """The result once every condition holds: the grant controls decide it."""
        controls = tuple(control(facts) for control in self.controls)
        verdict = self._verdict(controls)
        if verdict.satisfied:
            result = PolicyOutcome.SUCCESS if self.enabled else PolicyOutcome.REPORT_ONLY_SUCCESS
        elif self.enabled:
            result = PolicyOutcome.FAILURE
        elif verdict.interactive:
            result = PolicyOutcome.REPORT_ONLY_INTERRUPTED
        else:
            result = PolicyOutcome.REPORT_ONLY_FAILURE
        return self._result(result, outcomes, controls, interactive=verdict.interactive)

    def not_applied_result(self, outcomes: Sequence[ConditionResult]) -> PolicyResult:
        """The result when the last of ``outcomes`` is the first unsatisfied condition."""
        # Interned outcomes make the identity tuple a cheap, stable cache key.
        key = tuple(map(id, outcomes))
        cached = self.not_applied.get(key)
        if cached is None:
            result = PolicyOutcome.NOT_APPLIED if self.enabled else PolicyOutcome.REPORT_ONLY_NOT_APPLIED
            cached = self._result(result, tuple(outcomes), ())
            self.not_applied[key] = cached
        return cached

    def _verdict(self, controls: tuple[ControlResult, ...]) -> _Verdict:
        if not controls:
            return _Verdict(True, False)
        if self.operator_and:
            if all(c.satisfied for c in controls):
                return _Verdict(True, False)
            failed = any(not c.satisfied and not c.interactive for c in controls)
            return _Verdict(False, not failed)
        if any(c.satisfied for c in controls):
            return _Verdict(True, False)
        return _Verdict(False, any(c.interactive for c in controls))

    def _result(
        self,
        result: PolicyOutcome,
        conditions: tuple[ConditionResult, ...],
        controls: tuple[ControlResult, ...],
        *,
        interactive: bool = False,
    ) -> PolicyResult:
        p = self.policy
        return PolicyResult(
            p.id,
            p.display_name,
            p.state.value,
            result,
            conditions,
            controls,
            self.enforced_grant_controls,
            self.enforced_session_controls,
            interactive,
        )


class CompiledPolicySet:
    """Policies compiled once; ``evaluate`` is called at every token request."""

    def __init__(self, policies: Sequence[Policy], named_locations: Sequence[NamedLocation] = ()) -> None:
        self.policies = tuple(policies)
        self.named_locations = tuple(named_locations)
        self.compiled = tuple(CompiledPolicy(p) for p in self.policies)
        # What a decision starts from: disabled policies are settled, the tree writes every other one.
        self.template: tuple[PolicyResult | None, ...] = tuple(
            None if c.enabled or c.report_only else c.not_enabled for c in self.compiled
        )
        # principal key -> the evaluated policies whose users condition names it: for a user
        # carrying it those are evaluated one by one (from memos); the tree serves the rest.
        named: dict[str, list[int]] = {}
        for index, compiled in enumerate(self.compiled):
            users = compiled.users
            if (compiled.enabled or compiled.report_only) and users.targets_users:
                for key in users.named_keys:
                    named.setdefault(key, []).append(index)
        self.named_by = {key: tuple(indexes) for key, indexes in named.items()}
        conditions = [p.conditions for p in self.policies]
        keys = stage_keys(
            filter_attributes(c.devices.device_filter for c in conditions if c.devices is not None),
            filter_attributes(c.applications.application_filter for c in conditions if c.applications is not None),
        )
        # The tree branches on the conditions whose inputs take few values; the rest run per policy.
        branching = {name: keys[name] for name in ("application", "clientType", "devicePlatform", "location")}
        self.tree = DecisionTree(self.compiled, self.template, [name for name, _ in CONDITIONS], branching)
        self.keys = keys
        self.location_memo: dict[tuple[str | None, str | None], frozenset[str]] = {}
        self._controls_tokens: dict[Hashable, object] = {}

    def __len__(self) -> int:
        return len(self.compiled)

    def evaluate(self, ctx: SignInContext, now: datetime) -> Decision:
        """The decision for one sign-in, with every policy's result and reasons."""
        facts = Facts(ctx, self.named_locations, now, self.location_memo)
        user = ctx.user
        if user is None:  # workload identities: rare, and the users index does not cover them
            return decide(tuple(compiled.evaluate(facts) for compiled in self.compiled), now)
        profile = (user.guest_or_external_user_type, user.home_tenant_id) if facts.is_external else None
        node = self.tree.walk(facts, profile)
        touched: set[int] | None = None
        named_by = self.named_by
        for key in facts.principal_keys:
            indexes = named_by.get(key)
            if indexes is not None:
                if touched is None:
                    touched = set(indexes)
                else:
                    touched.update(indexes)
        survivors = node.survivors
        if not survivors and touched is None:
            return combine(node.base, (), now)  # type: ignore[arg-type]  # no survivor: no None left
        results: list[PolicyResult] = list(node.base)  # type: ignore[arg-type]  # survivors fill the Nones
        keys = self.keys
        controls = self._controls_token(facts)
        success, failure = PolicyOutcome.SUCCESS, PolicyOutcome.FAILURE
        enforced: list[PolicyResult] = []
        known = facts.stage_keys
        for index, policy, chain in survivors:
            # Survivors have the grant controls left, or one condition and the controls: ``resume``
            # inline from memos for those two; on a miss ``resume`` fills them.
            if chain.complete:
                result = chain.results.get(controls)
            else:
                kind = chain.kind
                stage_key = known.get(kind, _MISSING)
                if stage_key is _MISSING:
                    stage_key = known[kind] = keys[kind](facts)
                after = chain.next.get(stage_key)
                if after is None or isinstance(after, PolicyResult):
                    result = after
                else:
                    result = after.results.get(controls) if after.complete else None
            if result is None:
                result = policy.resume(chain, facts, keys, controls)
            results[index] = result
            if result.result is success or result.result is failure:
                enforced.append(result)
        if touched is None:
            return combine(tuple(results), enforced, now)
        compiled = self.compiled
        for index in touched:
            policy = compiled[index]
            after = policy.users_step(facts, profile)
            results[index] = after if isinstance(after, PolicyResult) else policy.resume(after, facts, keys, controls)
        touched.update(node.indexes)
        enforced = [
            result
            for index in sorted(touched)
            if (result := results[index]).result is success or result.result is failure
        ]
        return combine(tuple(results), enforced, now)

    def _controls_token(self, facts: Facts) -> object:
        """A token for ``controls_key(facts)``: equal keys, same token (hashed once per decision).

        Tokens are plain objects, never reused, so a memo keyed on one stays right after the
        table is cleared.
        """
        key = controls_key(facts)
        token = self._controls_tokens.get(key)
        if token is None:
            if len(self._controls_tokens) >= MAX_MEMO:
                self._controls_tokens.clear()
            token = self._controls_tokens[key] = object()
        return token

    def evaluate_each(self, ctx: SignInContext, now: datetime) -> Decision:
        """Run every policy's whole chain and controls: no tree, no index (the reference path)."""
        facts = Facts(ctx, self.named_locations, now)
        return decide(tuple(compiled.evaluate(facts) for compiled in self.compiled), now)


def decide(results: tuple[PolicyResult, ...], now: datetime) -> Decision:
    """Combine per-policy results into the sign-in decision: block wins, all enforced must pass."""
    success, failure = PolicyOutcome.SUCCESS, PolicyOutcome.FAILURE
    return combine(results, tuple(r for r in results if r.result is success or r.result is failure), now)


def combine(results: tuple[PolicyResult, ...], enforced: Sequence[PolicyResult], now: datetime) -> Decision:
    """``decide`` when the caller already knows the results that are success or failure, in order."""
    failing = [r for r in enforced if r.result is PolicyOutcome.FAILURE]
    if not failing and not enforced:
        return Decision(Access.GRANTED, "notApplied", 0, "", results, now)
    if not failing:
        return Decision(Access.GRANTED, "success", 0, "", results, now)
    missing = [c for r in failing for c in r.controls if not c.satisfied]
    if any(c.control == "block" for c in missing):
        return Decision(Access.BLOCKED, "failure", BLOCKED, FAILURE_REASONS[BLOCKED], results, now)
    hard = [r for r in failing if not r.interactive]
    if hard:
        controls = [c for r in hard for c in r.controls if not c.satisfied and not c.interactive]
        first = min(controls, key=lambda c: PROMPT_ORDER.get(c.control, 99))
        return Decision(Access.BLOCKED, "failure", first.error_code, FAILURE_REASONS[first.error_code], results, now)
    prompts = [c for r in failing for c in r.controls if not c.satisfied and c.interactive]
    first = min(prompts, key=lambda c: PROMPT_ORDER.get(c.control, 99))
    return Decision(Access.INTERRUPTED, "failure", first.error_code, FAILURE_REASONS[first.error_code], results, now)


# ---------------------------------------------------------------- entry points


def compile_policies(
    policies: Iterable[Mapping[str, Any] | Policy],
    named_locations: Iterable[Mapping[str, Any] | NamedLocation] = (),
) -> CompiledPolicySet:
    """Graph policy JSON (or parsed Policy objects) and named locations -> a compiled set."""
    parsed: list[Policy] = []
    for index, item in enumerate(policies):
        parsed.append(item if isinstance(item, Policy) else parse_policy(item, f"$[{index}]").policy)
    locations = [item if isinstance(item, NamedLocation) else parse_named_location(item) for item in named_locations]
    return CompiledPolicySet(parsed, locations)


def evaluate_plain(
    policies: Iterable[Mapping[str, Any]],
    ctx: SignInContext,
    now: datetime,
    named_locations: Iterable[Mapping[str, Any] | NamedLocation] = (),
) -> Decision:
    """Interpret every policy's JSON in full for one sign-in (no compilation reused).

    The baseline the benchmark compares against, and what a one-off what-if can call: it parses
    every policy and runs every policy's whole chain, with no index or memo.
    """
    return compile_policies(policies, named_locations).evaluate_each(ctx, now)


__all__ = [
    "CompiledPolicy",
    "CompiledPolicySet",
    "ParsedPolicy",
    "combine",
    "compile_policies",
    "decide",
    "evaluate_plain",
]
