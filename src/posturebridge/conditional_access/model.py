"""Typed model of Conditional Access policies and of the sign-in being evaluated.

Policies are parsed from Graph JSON by ``parse.py`` (the only module that knows the wire names);
everything here is plain, frozen data. Value spellings inside the model are Graph's (``All``,
``GuestsOrExternalUsers``, ``exchangeActiveSync``, ``compliantDevice``) because they are domain
words, but lookups are case-insensitive where Graph is (see ``fold``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from posturebridge.conditional_access.rules import Node

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def fold(value: str) -> str:
    """Case-insensitive key for ids and keywords (Graph treats "All" and "all" alike)."""
    return value.casefold()


class PolicyState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    REPORT_ONLY = "enabledForReportingButNotEnforced"


class IssueKind(StrEnum):
    ERROR = "error"  # the field is malformed; the policy cannot be evaluated faithfully
    UNKNOWN_FIELD = "unknownField"  # kept, reported, not fatal
    PLACEHOLDER = "placeholder"  # template value such as "<AdministratorGroup>" or "ToU"
    WARNING = "warning"  # legacy or unusual shape that was understood


@dataclass(frozen=True, slots=True)
class Issue:
    path: str  # JSON path, e.g. "$.conditions.devices.deviceFilter.rule"
    kind: IssueKind
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.message}"


# ---------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class FilterRule:
    mode: str  # "include" | "exclude"
    rule: str
    node: Node | None  # None when the rule does not parse (an error Issue says why)


@dataclass(frozen=True, slots=True)
class ExternalTenants:
    membership_kind: str  # "all" | "enumerated"
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GuestsOrExternalUsers:
    guest_or_external_user_types: frozenset[str]
    external_tenants: ExternalTenants | None = None


@dataclass(frozen=True, slots=True)
class UsersCondition:
    include_users: tuple[str, ...] = ()
    exclude_users: tuple[str, ...] = ()
    include_groups: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    include_roles: tuple[str, ...] = ()
    exclude_roles: tuple[str, ...] = ()
    include_guests_or_external_users: GuestsOrExternalUsers | None = None
    exclude_guests_or_external_users: GuestsOrExternalUsers | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.include_users or self.include_groups or self.include_roles or self.include_guests_or_external_users
        )


@dataclass(frozen=True, slots=True)
class ApplicationsCondition:
    include_applications: tuple[str, ...] = ()
    exclude_applications: tuple[str, ...] = ()
    include_user_actions: tuple[str, ...] = ()
    include_authentication_context_class_references: tuple[str, ...] = ()
    application_filter: FilterRule | None = None


@dataclass(frozen=True, slots=True)
class ClientApplicationsCondition:
    include_service_principals: tuple[str, ...] = ()
    exclude_service_principals: tuple[str, ...] = ()
    service_principal_filter: FilterRule | None = None
    include_agent_id_service_principals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncludeExclude:
    """platforms and locations: two lists of values or keywords."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DevicesCondition:
    device_filter: FilterRule | None = None
    # Legacy device-state form (beta "devices.includeDevices" and "deviceStates.includeStates"):
    # values "All", "Compliant", "DomainJoined".
    include_states: tuple[str, ...] = ()
    exclude_states: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conditions:
    users: UsersCondition | None = None
    applications: ApplicationsCondition | None = None
    client_applications: ClientApplicationsCondition | None = None
    client_app_types: tuple[str, ...] = ()
    platforms: IncludeExclude | None = None
    locations: IncludeExclude | None = None
    devices: DevicesCondition | None = None
    sign_in_risk_levels: tuple[str, ...] = ()
    user_risk_levels: tuple[str, ...] = ()
    service_principal_risk_levels: tuple[str, ...] = ()
    insider_risk_levels: tuple[str, ...] = ()
    transfer_methods: tuple[str, ...] = ()  # authenticationFlows.transferMethods
    targets_agents: bool = False  # beta agent-identity targeting (agents, AllAgentIdUsers, ...)


@dataclass(frozen=True, slots=True)
class AuthenticationStrength:
    id: str
    display_name: str | None = None
    allowed_combinations: tuple[str, ...] = ()
    requirements_satisfied: str | None = None


@dataclass(frozen=True, slots=True)
class GrantControls:
    operator: str = "OR"  # "AND" | "OR"
    built_in_controls: tuple[str, ...] = ()
    custom_authentication_factors: tuple[str, ...] = ()
    terms_of_use: tuple[str, ...] = ()
    authentication_strength: AuthenticationStrength | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.built_in_controls
            or self.custom_authentication_factors
            or self.terms_of_use
            or self.authentication_strength
        )


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    display_name: str
    state: PolicyState
    conditions: Conditions
    grant_controls: GrantControls | None
    session_controls: tuple[str, ...] = ()  # names of enabled session controls
    template_id: str | None = None
    issues: tuple[Issue, ...] = ()
    source: str = ""  # file name or "$[3]"; for messages only

    @property
    def has_errors(self) -> bool:
        return any(issue.kind is IssueKind.ERROR for issue in self.issues)


@dataclass(frozen=True, slots=True)
class NamedLocation:
    id: str
    display_name: str
    is_trusted: bool = False
    ip_ranges: tuple[IpNetwork, ...] = ()
    countries_and_regions: frozenset[str] = frozenset()
    include_unknown_countries_and_regions: bool = False


# ---------------------------------------------------------------- sign-in context


@dataclass(frozen=True, slots=True)
class UserIdentity:
    id: str
    user_principal_name: str | None = None
    group_ids: frozenset[str] = frozenset()  # transitive
    role_template_ids: frozenset[str] = frozenset()  # active built-in directory roles
    user_type: str = "member"  # "member" | "guest"
    guest_or_external_user_type: str | None = None  # e.g. "b2bCollaborationGuest"
    home_tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServicePrincipalIdentity:
    """A workload identity signing in on its own (client credentials)."""

    id: str  # object id or appId, as policies name it
    custom_security_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    owned_by_tenant: bool = True  # single-tenant apps registered in this tenant


@dataclass(frozen=True, slots=True)
class ResourceApplication:
    app_id: str
    display_name: str | None = None
    # "<AttributeSet>_<Attribute>" -> values, as the application filter names them.
    custom_security_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    app_groups: frozenset[str] | None = None  # Office365 / MicrosoftAdminPortals; None = catalogue


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A registered device as Graph describes it. ``None`` in the context means unregistered."""

    device_id: str | None = None
    display_name: str | None = None
    is_compliant: bool | None = None
    is_managed: bool | None = None
    trust_type: str | None = None  # Graph: "AzureAd" | "ServerAd" | "Workplace"
    device_ownership: str | None = None
    enrollment_profile_name: str | None = None
    manufacturer: str | None = None
    mdm_app_id: str | None = None
    model: str | None = None
    operating_system: str | None = None
    operating_system_version: str | None = None
    physical_ids: tuple[str, ...] | None = None
    profile_type: str | None = None
    system_labels: tuple[str, ...] | None = None
    extension_attributes: Mapping[str, str | None] = field(default_factory=dict)
    compliance_expiration_date_time: datetime | None = None

    def filter_attributes(self) -> dict[str, str | bool | tuple[str, ...] | None]:
        """Values keyed by the device-filter attribute names of ``rules.DEVICE_FILTER``."""
        values: dict[str, str | bool | tuple[str, ...] | None] = {
            "deviceId": self.device_id,
            "displayName": self.display_name,
            "deviceOwnership": self.device_ownership,
            "enrollmentProfileName": self.enrollment_profile_name,
            "isCompliant": self.is_compliant,
            "manufacturer": self.manufacturer,
            "mdmAppId": self.mdm_app_id,
            "model": self.model,
            "operatingSystem": self.operating_system,
            "operatingSystemVersion": self.operating_system_version,
            "physicalIds": self.physical_ids,
            "profileType": self.profile_type,
            "systemLabels": self.system_labels,
            # The filter spells AzureAD/ServerAD; Graph stores AzureAd/ServerAd. Comparison folds case.
            "trustType": self.trust_type,
        }
        for i in range(1, 16):
            values[f"extensionAttribute{i}"] = self.extension_attributes.get(f"extensionAttribute{i}")
        return values


@dataclass(frozen=True, slots=True)
class SatisfiedControls:
    """What the sign-in already proved (claims in the session or token)."""

    mfa: bool = False
    authentication_strengths: frozenset[str] = frozenset()  # authenticationStrengthPolicy ids
    terms_of_use: frozenset[str] = frozenset()  # accepted agreement ids
    custom_authentication_factors: frozenset[str] = frozenset()
    approved_application: bool = False
    compliant_application: bool = False  # app protection policy
    password_changed: bool = False
    risk_remediated: bool = False


@dataclass(frozen=True, slots=True)
class SignInContext:
    """Everything Conditional Access looks at for one token request.

    Exactly one of ``user`` and ``service_principal`` names who signs in; exactly one of
    ``application``, ``user_action`` and ``authentication_context`` names what is accessed.
    """

    user: UserIdentity | None = None
    service_principal: ServicePrincipalIdentity | None = None
    application: ResourceApplication | None = None
    user_action: str | None = None  # "urn:user:registersecurityinfo" | "urn:user:registerdevice"
    authentication_context: tuple[str, ...] = ()  # "c1".."c99"
    client_app_type: str = "browser"
    device_platform: str | None = None  # None: unknown platform
    ip_address: str | None = None
    country: str | None = None  # ISO 3166 two-letter code
    sign_in_risk: str = "none"
    user_risk: str = "none"
    service_principal_risk: str = "none"
    insider_risk: str = "none"
    authentication_flow: str | None = None  # "deviceCodeFlow" | "authenticationTransfer"
    device: DeviceInfo | None = None  # None: unregistered device
    satisfied: SatisfiedControls = SatisfiedControls()
