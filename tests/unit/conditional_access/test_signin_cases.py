"""Table-driven sign-in cases: one policy (built from a base by overrides), one sign-in, one outcome.

Each row reads as a specification: the policy fragment, the sign-in, the expected Graph result and,
where it matters, the condition and rule that decided it. Semantics from
learn.microsoft.com/entra/identity/conditional-access (concept-conditional-access-policies,
-users-groups, -cloud-apps, -conditions, concept-condition-filters-for-devices,
concept-filter-for-applications, concept-conditional-access-grant, -report-only).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from posturebridge.conditional_access import (
    DeviceInfo,
    ResourceApplication,
    SatisfiedControls,
    ServicePrincipalIdentity,
    SignInContext,
    UserIdentity,
    compile_policies,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
USER = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
GROUP = "aaaaaaaa-0000-0000-0000-000000000001"
GROUP2 = "aaaaaaaa-0000-0000-0000-000000000002"
ROLE = "62e90394-69f5-4237-9190-012177145e10"  # Global Administrator template
EXO = "00000002-0000-0ff1-ce00-000000000000"
SPO = "00000003-0000-0ff1-ce00-000000000000"
AZURE_PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
CUSTOM_APP = "33333333-3333-3333-3333-333333333333"
LOC_OFFICE = "44444444-4444-4444-4444-444444444444"
LOC_NL = "55555555-5555-5555-5555-555555555555"
TENANT = "66666666-6666-6666-6666-666666666666"
TOU = "77777777-7777-7777-7777-777777777777"
STRENGTH_PHISH = "00000000-0000-0000-0000-000000000004"
STRENGTH_MFA = "00000000-0000-0000-0000-000000000002"

NAMED_LOCATIONS = [
    {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": LOC_OFFICE,
        "displayName": "Office",
        "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}],
    },
    {
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "id": LOC_NL,
        "displayName": "Netherlands",
        "countriesAndRegions": ["NL"],
        "includeUnknownCountriesAndRegions": False,
    },
]

BASE: dict[str, Any] = {
    "id": "policy-under-test",
    "displayName": "Policy under test",
    "state": "enabled",
    "conditions": {
        "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": []},
        "applications": {"includeApplications": ["All"], "excludeApplications": []},
        "clientAppTypes": ["all"],
    },
    "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
}


def policy(**paths: Any) -> dict[str, Any]:
    """BASE with dotted-path overrides: policy(**{"conditions.users.includeUsers": [USER]})."""
    result = copy.deepcopy(BASE)
    for dotted, value in paths.items():
        node = result
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return result


COMPLIANT = DeviceInfo(device_id="d1", is_compliant=True, trust_type="AzureAd", operating_system="Windows")
NONCOMPLIANT = DeviceInfo(device_id="d2", is_compliant=False, trust_type="Workplace", operating_system="iOS")
HYBRID = DeviceInfo(device_id="d3", is_compliant=False, trust_type="ServerAd", operating_system="Windows")


def context(**overrides: Any) -> SignInContext:
    user = UserIdentity(
        id=overrides.pop("user_id", USER),
        group_ids=frozenset(overrides.pop("groups", ())),
        role_template_ids=frozenset(overrides.pop("roles", ())),
        user_type=overrides.pop("user_type", "member"),
        guest_or_external_user_type=overrides.pop("guest_type", None),
        home_tenant_id=overrides.pop("home_tenant", None),
    )
    app = overrides.pop("app", EXO)
    attributes = overrides.pop("app_attributes", {})
    defaults: dict[str, Any] = {
        "user": user,
        "application": ResourceApplication(app, custom_security_attributes=attributes) if app else None,
        "device_platform": "windows",
        "device": COMPLIANT,
    }
    mfa = overrides.pop("mfa", False)
    satisfied = overrides.pop("satisfied", SatisfiedControls(mfa=mfa))
    defaults.update(overrides)
    return SignInContext(satisfied=satisfied, **defaults)


def evaluate(raw: dict[str, Any], ctx: SignInContext):  # type: ignore[no-untyped-def]
    decision = compile_policies([raw], NAMED_LOCATIONS).evaluate(ctx, NOW)
    return decision, decision.policies[0]


# (name, policy, context, expected result, expected (condition, rule) of the deciding condition or None)
Case = tuple[str, dict[str, Any], SignInContext, str, tuple[str, str] | None]

USERS: list[Case] = [
    ("all_users_includes_any_member", policy(), context(), "failure", ("users", "allUsers")),
    (
        "included_user_id_applies",
        policy(**{"conditions.users.includeUsers": [USER]}),
        context(),
        "failure",
        ("users", "userId"),
    ),
    (
        "other_user_id_does_not_apply",
        policy(**{"conditions.users.includeUsers": [OTHER]}),
        context(),
        "notApplied",
        ("users", "none"),
    ),
    (
        "user_ids_compare_case_insensitively",
        policy(**{"conditions.users.includeUsers": [USER.upper()]}),
        context(),
        "failure",
        ("users", "userId"),
    ),
    (
        "none_includes_nobody",
        policy(**{"conditions.users.includeUsers": ["None"]}),
        context(),
        "notApplied",
        ("users", "none"),
    ),
    (
        "included_group_applies",
        policy(**{"conditions.users.includeUsers": [], "conditions.users.includeGroups": [GROUP]}),
        context(groups=[GROUP]),
        "failure",
        ("users", "groupId"),
    ),
    (
        "group_not_held_does_not_apply",
        policy(**{"conditions.users.includeUsers": [], "conditions.users.includeGroups": [GROUP]}),
        context(groups=[GROUP2]),
        "notApplied",
        ("users", "none"),
    ),
    (
        "included_role_applies",
        policy(**{"conditions.users.includeUsers": [], "conditions.users.includeRoles": [ROLE]}),
        context(roles=[ROLE]),
        "failure",
        ("users", "roleId"),
    ),
    (
        "role_not_held_does_not_apply",
        policy(**{"conditions.users.includeUsers": [], "conditions.users.includeRoles": [ROLE]}),
        context(),
        "notApplied",
        ("users", "none"),
    ),
    (
        "exclusion_wins_over_inclusion_by_user",
        policy(**{"conditions.users.includeUsers": [USER], "conditions.users.excludeUsers": [USER]}),
        context(),
        "notApplied",
        ("users", "userId"),
    ),
    (
        "exclusion_wins_over_inclusion_by_group",
        policy(**{"conditions.users.excludeGroups": [GROUP]}),
        context(groups=[GROUP]),
        "notApplied",
        ("users", "groupId"),
    ),
    (
        "exclusion_wins_over_inclusion_by_role",
        policy(**{"conditions.users.excludeRoles": [ROLE]}),
        context(roles=[ROLE]),
        "notApplied",
        ("users", "roleId"),
    ),
    (
        "exclusion_of_group_not_held_still_applies",
        policy(**{"conditions.users.excludeGroups": [GROUP]}),
        context(groups=[GROUP2]),
        "failure",
        ("users", "allUsers"),
    ),
    (
        "all_users_includes_guests",
        policy(),
        context(user_type="guest", guest_type="b2bCollaborationGuest"),
        "failure",
        ("users", "allUsers"),
    ),
    (
        "guests_keyword_includes_guest",
        policy(**{"conditions.users.includeUsers": ["GuestsOrExternalUsers"]}),
        context(user_type="guest"),
        "failure",
        ("users", "guest"),
    ),
    (
        "guests_keyword_skips_member",
        policy(**{"conditions.users.includeUsers": ["GuestsOrExternalUsers"]}),
        context(),
        "notApplied",
        ("users", "none"),
    ),
    (
        "guests_keyword_exclusion_skips_guest",
        policy(**{"conditions.users.excludeUsers": ["GuestsOrExternalUsers"]}),
        context(user_type="guest"),
        "notApplied",
        ("users", "guest"),
    ),
    (
        "guests_keyword_exclusion_keeps_member",
        policy(**{"conditions.users.excludeUsers": ["GuestsOrExternalUsers"]}),
        context(),
        "failure",
        ("users", "allUsers"),
    ),
    (
        "guest_type_include_matches_type",
        policy(
            **{
                "conditions.users.includeUsers": [],
                "conditions.users.includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest,serviceProvider",
                    "externalTenants": {"membershipKind": "all"},
                },
            }
        ),
        context(user_type="guest", guest_type="b2bCollaborationGuest"),
        "failure",
        ("users", "guest"),
    ),
    (
        "guest_type_include_skips_other_type",
        policy(
            **{
                "conditions.users.includeUsers": [],
                "conditions.users.includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "internalGuest",
                    "externalTenants": {"membershipKind": "all"},
                },
            }
        ),
        context(user_type="guest", guest_type="b2bCollaborationGuest"),
        "notApplied",
        ("users", "none"),
    ),
    (
        "guest_type_enumerated_tenant_matches_home_tenant",
        policy(
            **{
                "conditions.users.includeUsers": [],
                "conditions.users.includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest",
                    "externalTenants": {"membershipKind": "enumerated", "members": [TENANT]},
                },
            }
        ),
        context(user_type="guest", guest_type="b2bCollaborationGuest", home_tenant=TENANT),
        "failure",
        ("users", "guest"),
    ),
    (
        "guest_type_enumerated_tenant_skips_other_tenant",
        policy(
            **{
                "conditions.users.includeUsers": [],
                "conditions.users.includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest",
                    "externalTenants": {"membershipKind": "enumerated", "members": [TENANT]},
                },
            }
        ),
        context(user_type="guest", guest_type="b2bCollaborationGuest", home_tenant=OTHER),
        "notApplied",
        ("users", "none"),
    ),
    (
        "guest_type_exclusion_wins",
        policy(
            **{
                "conditions.users.excludeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest",
                    "externalTenants": {"membershipKind": "all"},
                }
            }
        ),
        context(user_type="guest", guest_type="b2bCollaborationGuest"),
        "notApplied",
        ("users", "guest"),
    ),
    (
        "guest_type_exclusion_keeps_member",
        policy(
            **{
                "conditions.users.excludeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest",
                    "externalTenants": {"membershipKind": "all"},
                }
            }
        ),
        context(),
        "failure",
        ("users", "allUsers"),
    ),
    (
        "b2b_member_counts_as_external",
        policy(**{"conditions.users.includeUsers": ["GuestsOrExternalUsers"]}),
        context(guest_type="b2bCollaborationMember"),
        "failure",
        ("users", "guest"),
    ),
    (
        "workload_identity_skips_user_policy",
        policy(),
        SignInContext(service_principal=ServicePrincipalIdentity("sp-1"), application=ResourceApplication(EXO)),
        "notApplied",
        ("servicePrincipals", "none"),
    ),
    (
        "workload_policy_applies_to_its_service_principal",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {"includeServicePrincipals": ["sp-1"]},
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(service_principal=ServicePrincipalIdentity("sp-1"), application=ResourceApplication(EXO)),
        "failure",
        ("servicePrincipals", "servicePrincipalId"),
    ),
    (
        "workload_policy_in_my_tenant_keyword",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]},
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(service_principal=ServicePrincipalIdentity("sp-2"), application=ResourceApplication(EXO)),
        "failure",
        ("servicePrincipals", "allServicePrincipals"),
    ),
    (
        "workload_policy_excluded_service_principal",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {
                    "includeServicePrincipals": ["ServicePrincipalsInMyTenant"],
                    "excludeServicePrincipals": ["sp-2"],
                },
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(service_principal=ServicePrincipalIdentity("sp-2"), application=ResourceApplication(EXO)),
        "notApplied",
        ("servicePrincipals", "servicePrincipalId"),
    ),
    (
        "workload_policy_skips_users",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]},
            }
        ),
        context(),
        "notApplied",
        ("users", "none"),
    ),
    (
        "workload_policy_service_principal_filter",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {
                    "includeServicePrincipals": [],
                    "servicePrincipalFilter": {
                        "mode": "include",
                        "rule": 'CustomSecurityAttribute.Workload_Tier -eq "0"',
                    },
                },
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(
            service_principal=ServicePrincipalIdentity("sp-3", {"Workload_Tier": ("0",)}),
            application=ResourceApplication(EXO),
        ),
        "failure",
        ("servicePrincipals", "servicePrincipalFilter"),
    ),
]

APPLICATIONS: list[Case] = [
    (
        "all_resources_include_any_app",
        policy(),
        context(app=CUSTOM_APP),
        "failure",
        ("application", "allApps"),
    ),
    (
        "included_app_id_applies",
        policy(**{"conditions.applications.includeApplications": [EXO]}),
        context(app=EXO),
        "failure",
        ("application", "appId"),
    ),
    (
        "other_app_does_not_apply",
        policy(**{"conditions.applications.includeApplications": [EXO]}),
        context(app=SPO),
        "notApplied",
        ("application", "none"),
    ),
    (
        "none_targets_no_app",
        policy(**{"conditions.applications.includeApplications": ["None"]}),
        context(),
        "notApplied",
        ("application", "none"),
    ),
    (
        "excluded_app_wins_over_all",
        policy(**{"conditions.applications.excludeApplications": [EXO]}),
        context(app=EXO),
        "notApplied",
        ("application", "appId"),
    ),
    (
        "office365_includes_exchange",
        policy(**{"conditions.applications.includeApplications": ["Office365"]}),
        context(app=EXO),
        "failure",
        ("application", "office365"),
    ),
    (
        "office365_includes_sharepoint",
        policy(**{"conditions.applications.includeApplications": ["Office365"]}),
        context(app=SPO),
        "failure",
        ("application", "office365"),
    ),
    (
        "office365_skips_custom_app",
        policy(**{"conditions.applications.includeApplications": ["Office365"]}),
        context(app=CUSTOM_APP),
        "notApplied",
        ("application", "none"),
    ),
    (
        "office365_exclusion_wins",
        policy(**{"conditions.applications.excludeApplications": ["Office365"]}),
        context(app=SPO),
        "notApplied",
        ("application", "office365"),
    ),
    (
        "admin_portals_include_azure_portal",
        policy(**{"conditions.applications.includeApplications": ["MicrosoftAdminPortals"]}),
        context(app=AZURE_PORTAL),
        "failure",
        ("application", "microsoftAdminPortals"),
    ),
    (
        "admin_portals_skip_exchange",
        policy(**{"conditions.applications.includeApplications": ["MicrosoftAdminPortals"]}),
        context(app=EXO),
        "notApplied",
        ("application", "none"),
    ),
    (
        "admin_portals_exclusion_wins",
        policy(**{"conditions.applications.excludeApplications": ["MicrosoftAdminPortals"]}),
        context(app=AZURE_PORTAL),
        "notApplied",
        ("application", "microsoftAdminPortals"),
    ),
    (
        "app_groups_from_context_override_catalogue",
        policy(**{"conditions.applications.includeApplications": ["Office365"]}),
        SignInContext(
            user=UserIdentity(USER),
            application=ResourceApplication(CUSTOM_APP, app_groups=frozenset({"Office365"})),
        ),
        "failure",
        ("application", "office365"),
    ),
    (
        "user_action_register_security_info",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeUserActions": ["urn:user:registersecurityinfo"],
                }
            }
        ),
        context(app=None, user_action="urn:user:registersecurityinfo"),
        "failure",
        ("application", "userAction"),
    ),
    (
        "user_action_register_device",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeUserActions": ["urn:user:registerdevice"],
                }
            }
        ),
        context(app=None, user_action="urn:user:registerdevice"),
        "failure",
        ("application", "userAction"),
    ),
    (
        "user_action_other_action_does_not_apply",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeUserActions": ["urn:user:registerdevice"],
                }
            }
        ),
        context(app=None, user_action="urn:user:registersecurityinfo"),
        "notApplied",
        ("application", "none"),
    ),
    (
        "all_resources_do_not_cover_user_actions",
        policy(),
        context(app=None, user_action="urn:user:registerdevice"),
        "notApplied",
        ("application", "none"),
    ),
    (
        "user_action_policy_skips_app_sign_in",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeUserActions": ["urn:user:registerdevice"],
                }
            }
        ),
        context(app=EXO),
        "notApplied",
        ("application", "none"),
    ),
    (
        "authentication_context_included",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeAuthenticationContextClassReferences": ["c1"],
                }
            }
        ),
        context(app=None, authentication_context=("c1",)),
        "failure",
        ("application", "acr"),
    ),
    (
        "authentication_context_other_value",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "includeAuthenticationContextClassReferences": ["c1"],
                }
            }
        ),
        context(app=None, authentication_context=("c2",)),
        "notApplied",
        ("application", "none"),
    ),
    (
        "application_filter_include_matches_attribute",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "applicationFilter": {
                        "mode": "include",
                        "rule": 'CustomSecurityAttribute.ConditionalAccess_Sensitivity -eq "High"',
                    },
                }
            }
        ),
        context(app=CUSTOM_APP, app_attributes={"ConditionalAccess_Sensitivity": ("High",)}),
        "failure",
        ("application", "appFilter"),
    ),
    (
        "application_filter_include_no_attribute",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "applicationFilter": {
                        "mode": "include",
                        "rule": 'CustomSecurityAttribute.ConditionalAccess_Sensitivity -eq "High"',
                    },
                }
            }
        ),
        context(app=CUSTOM_APP),
        "notApplied",
        ("application", "none"),
    ),
    (
        "application_filter_exclude_wins_over_all",
        policy(
            **{
                "conditions.applications.applicationFilter": {
                    "mode": "exclude",
                    "rule": 'CustomSecurityAttribute.ConditionalAccess_isApproved -contains "False"',
                }
            }
        ),
        context(app=CUSTOM_APP, app_attributes={"ConditionalAccess_isApproved": ("False",)}),
        "notApplied",
        ("application", "appFilter"),
    ),
    (
        "application_filter_exclude_other_value_applies",
        policy(
            **{
                "conditions.applications.applicationFilter": {
                    "mode": "exclude",
                    "rule": 'CustomSecurityAttribute.ConditionalAccess_isApproved -contains "False"',
                }
            }
        ),
        context(app=CUSTOM_APP, app_attributes={"ConditionalAccess_isApproved": ("True",)}),
        "failure",
        ("application", "allApps"),
    ),
    (
        "application_filter_in_list",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "applicationFilter": {
                        "mode": "include",
                        "rule": 'CustomSecurityAttribute.Eng_Project -in ["Baker", "Cascade"]',
                    },
                }
            }
        ),
        context(app=CUSTOM_APP, app_attributes={"Eng_Project": ("cascade",)}),
        "failure",
        ("application", "appFilter"),
    ),
    (
        "application_filter_starts_with",
        policy(
            **{
                "conditions.applications": {
                    "includeApplications": [],
                    "applicationFilter": {
                        "mode": "include",
                        "rule": 'CustomSecurityAttribute.Eng_Project -startsWith "Bak"',
                    },
                }
            }
        ),
        context(app=CUSTOM_APP, app_attributes={"Eng_Project": ("Baker",)}),
        "failure",
        ("application", "appFilter"),
    ),
]

CLIENT_APPS: list[Case] = [
    *[
        (
            f"client_app_{kind}_included",
            policy(**{"conditions.clientAppTypes": [kind]}),
            context(client_app_type=kind),
            "failure",
            ("clientType", "clientType"),
        )
        for kind in ("browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other")
    ],
    *[
        (
            f"client_app_{kind}_not_included",
            policy(**{"conditions.clientAppTypes": ["browser"]}),
            context(client_app_type=kind),
            "notApplied",
            ("clientType", "none"),
        )
        for kind in ("mobileAppsAndDesktopClients", "exchangeActiveSync", "other")
    ],
    (
        "client_app_all_capitalised_means_all",
        policy(**{"conditions.clientAppTypes": ["All"]}),
        context(client_app_type="other"),
        "failure",
        ("application", "allApps"),
    ),
    (
        "client_app_empty_means_all",
        policy(**{"conditions.clientAppTypes": []}),
        context(client_app_type="exchangeActiveSync"),
        "failure",
        ("application", "allApps"),
    ),
    (
        "client_app_eas_supported_covers_exchange_active_sync",
        policy(**{"conditions.clientAppTypes": ["easSupported"]}),
        context(client_app_type="exchangeActiveSync"),
        "failure",
        ("clientType", "clientType"),
    ),
]

PLATFORMS: list[Case] = [
    *[
        (
            f"platform_{p}_included",
            policy(**{"conditions.platforms": {"includePlatforms": [p]}}),
            context(device_platform=p),
            "failure",
            ("devicePlatform", "devicePlatform"),
        )
        for p in ("android", "iOS", "windows", "macOS", "linux", "windowsPhone")
    ],
    *[
        (
            f"platform_all_includes_{p}",
            policy(**{"conditions.platforms": {"includePlatforms": ["all"]}}),
            context(device_platform=p),
            "failure",
            ("devicePlatform", "allDevicePlatforms"),
        )
        for p in ("android", "iOS", "linux")
    ],
    (
        "platform_other_not_included",
        policy(**{"conditions.platforms": {"includePlatforms": ["android", "iOS"]}}),
        context(device_platform="windows"),
        "notApplied",
        ("devicePlatform", "none"),
    ),
    (
        "platform_exclusion_wins",
        policy(**{"conditions.platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}}),
        context(device_platform="windows"),
        "notApplied",
        ("devicePlatform", "devicePlatform"),
    ),
    (
        "unknown_platform_matched_by_all_minus_known",
        policy(
            **{
                "conditions.platforms": {
                    "includePlatforms": ["all"],
                    "excludePlatforms": ["android", "iOS", "windows", "macOS", "linux"],
                }
            }
        ),
        context(device_platform=None),
        "failure",
        ("devicePlatform", "allDevicePlatforms"),
    ),
    (
        "unknown_platform_not_in_explicit_list",
        policy(**{"conditions.platforms": {"includePlatforms": ["windows"]}}),
        context(device_platform=None),
        "notApplied",
        ("devicePlatform", "none"),
    ),
    (
        "platform_names_compare_case_insensitively",
        policy(**{"conditions.platforms": {"includePlatforms": ["IOS"]}}),
        context(device_platform="iOS"),
        "failure",
        ("devicePlatform", "devicePlatform"),
    ),
]

LOCATIONS: list[Case] = [
    (
        "any_location_includes_unknown_ip",
        policy(**{"conditions.locations": {"includeLocations": ["All"]}}),
        context(ip_address="203.0.113.9"),
        "failure",
        ("location", "allLocations"),
    ),
    (
        "trusted_location_excluded",
        policy(**{"conditions.locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
        context(ip_address="198.51.100.7"),
        "notApplied",
        ("location", "allTrustedLocations"),
    ),
    (
        "untrusted_ip_not_excluded_by_all_trusted",
        policy(**{"conditions.locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
        context(ip_address="203.0.113.9"),
        "failure",
        ("location", "allLocations"),
    ),
    (
        "named_ip_location_included",
        policy(**{"conditions.locations": {"includeLocations": [LOC_OFFICE]}}),
        context(ip_address="198.51.100.200"),
        "failure",
        ("location", "locationId"),
    ),
    (
        "named_ip_location_outside_range",
        policy(**{"conditions.locations": {"includeLocations": [LOC_OFFICE]}}),
        context(ip_address="198.51.101.1"),
        "notApplied",
        ("location", "none"),
    ),
    (
        "country_location_included",
        policy(**{"conditions.locations": {"includeLocations": [LOC_NL]}}),
        context(country="NL"),
        "failure",
        ("location", "locationId"),
    ),
    (
        "country_location_other_country",
        policy(**{"conditions.locations": {"includeLocations": [LOC_NL]}}),
        context(country="US"),
        "notApplied",
        ("location", "none"),
    ),
    (
        "country_location_excluded_blocks_elsewhere",
        policy(
            **{
                "conditions.locations": {"includeLocations": ["All"], "excludeLocations": [LOC_NL]},
                "grantControls.builtInControls": ["block"],
            }
        ),
        context(country="NL"),
        "notApplied",
        ("location", "locationId"),
    ),
    (
        "country_whitelist_blocks_other_country",
        policy(
            **{
                "conditions.locations": {"includeLocations": ["All"], "excludeLocations": [LOC_NL]},
                "grantControls.builtInControls": ["block"],
            }
        ),
        context(country="US"),
        "failure",
        ("location", "allLocations"),
    ),
    (
        "all_trusted_included_for_trusted_ip",
        policy(**{"conditions.locations": {"includeLocations": ["AllTrusted"]}}),
        context(ip_address="198.51.100.1"),
        "failure",
        ("location", "allTrustedLocations"),
    ),
    (
        "unknown_location_id_never_matches",
        policy(**{"conditions.locations": {"includeLocations": ["99999999-9999-9999-9999-999999999999"]}}),
        context(ip_address="198.51.100.1"),
        "notApplied",
        ("location", "none"),
    ),
    (
        "locations_as_empty_array_means_not_configured",
        policy(**{"conditions.locations": []}),
        context(),
        "failure",
        ("application", "allApps"),
    ),
    (
        "ipv6_address_outside_ipv4_ranges",
        policy(**{"conditions.locations": {"includeLocations": [LOC_OFFICE]}}),
        context(ip_address="2001:db8::1"),
        "notApplied",
        ("location", "none"),
    ),
]

RISKS: list[Case] = [
    *[
        (
            f"sign_in_risk_{level}_included",
            policy(**{"conditions.signInRiskLevels": ["low", "medium", "high"]}),
            context(sign_in_risk=level),
            "failure",
            ("signInRisk", "signInRisk"),
        )
        for level in ("low", "medium", "high")
    ],
    (
        "sign_in_risk_none_not_included",
        policy(**{"conditions.signInRiskLevels": ["high"]}),
        context(sign_in_risk="none"),
        "notApplied",
        ("signInRisk", "none"),
    ),
    (
        "sign_in_risk_medium_not_in_high_only",
        policy(**{"conditions.signInRiskLevels": ["high"]}),
        context(sign_in_risk="medium"),
        "notApplied",
        ("signInRisk", "none"),
    ),
    (
        "user_risk_high_included",
        policy(**{"conditions.userRiskLevels": ["high"]}),
        context(user_risk="high"),
        "failure",
        ("userRisk", "userRisk"),
    ),
    (
        "user_risk_low_not_included",
        policy(**{"conditions.userRiskLevels": ["high"]}),
        context(user_risk="low"),
        "notApplied",
        ("userRisk", "none"),
    ),
    (
        "insider_risk_elevated_included",
        policy(**{"conditions.insiderRiskLevels": "elevated"}),
        context(insider_risk="elevated"),
        "failure",
        ("insiderRisk", "insiderRisk"),
    ),
    (
        "insider_risk_minor_not_in_elevated",
        policy(**{"conditions.insiderRiskLevels": "elevated"}),
        context(insider_risk="minor"),
        "notApplied",
        ("insiderRisk", "none"),
    ),
    (
        "insider_risk_flags_string_with_several_levels",
        policy(**{"conditions.insiderRiskLevels": "moderate,elevated"}),
        context(insider_risk="moderate"),
        "failure",
        ("insiderRisk", "insiderRisk"),
    ),
    (
        "service_principal_risk_included",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]},
                "conditions.servicePrincipalRiskLevels": ["high"],
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(
            service_principal=ServicePrincipalIdentity("sp"),
            application=ResourceApplication(EXO),
            service_principal_risk="high",
        ),
        "failure",
        ("servicePrincipalRisk", "servicePrincipalRisk"),
    ),
    (
        "service_principal_risk_not_included",
        policy(
            **{
                "conditions.users": None,
                "conditions.clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]},
                "conditions.servicePrincipalRiskLevels": ["high"],
                "grantControls.builtInControls": ["block"],
            }
        ),
        SignInContext(
            service_principal=ServicePrincipalIdentity("sp"),
            application=ResourceApplication(EXO),
            service_principal_risk="low",
        ),
        "notApplied",
        ("servicePrincipalRisk", "none"),
    ),
    (
        "device_code_flow_included",
        policy(**{"conditions.authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
        context(authentication_flow="deviceCodeFlow"),
        "failure",
        ("authenticationFlows", "authenticationFlows"),
    ),
    (
        "authentication_transfer_in_flags",
        policy(**{"conditions.authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"}}),
        context(authentication_flow="authenticationTransfer"),
        "failure",
        ("authenticationFlows", "authenticationFlows"),
    ),
    (
        "no_transfer_flow_not_included",
        policy(**{"conditions.authenticationFlows": {"transferMethods": "deviceCodeFlow"}}),
        context(),
        "notApplied",
        ("authenticationFlows", "none"),
    ),
]


NOT_ANY_TRUST_TYPE = " -and ".join(f"device.trustType -ne '{t}'" for t in ("AzureAD", "ServerAD", "Workplace"))


def device_filter(mode: str, rule: str, **more: Any) -> dict[str, Any]:
    return policy(**{"conditions.devices": {"deviceFilter": {"mode": mode, "rule": rule}}}, **more)


def dev(**attrs: Any) -> DeviceInfo:
    return DeviceInfo(device_id="dev", **attrs)


DEVICES: list[Case] = [
    (
        "filter_exclude_compliant_company_device",
        device_filter("exclude", 'device.isCompliant -eq True -and device.deviceOwnership -eq "Company"'),
        context(device=dev(is_compliant=True, device_ownership="Company")),
        "notApplied",
        ("deviceState", "deviceFilter"),
    ),
    (
        "filter_exclude_keeps_personal_device",
        device_filter("exclude", 'device.isCompliant -eq True -and device.deviceOwnership -eq "Company"'),
        context(device=dev(is_compliant=True, device_ownership="Personal")),
        "failure",
        ("deviceState", "allDevices"),
    ),
    (
        "unregistered_device_never_matches_positive_exclude_rule",
        device_filter("exclude", 'device.isCompliant -eq True -or device.trustType -eq "ServerAD"'),
        context(device=None),
        "failure",
        ("deviceState", "allDevices"),
    ),
    (
        "unregistered_device_never_matches_positive_include_rule",
        device_filter("include", 'device.extensionAttribute1 -eq "SAW"'),
        context(device=None),
        "notApplied",
        ("deviceState", "deviceFilterIncludeRuleNotMatched"),
    ),
    (
        "unregistered_device_matches_negative_include_rule",
        device_filter("include", 'device.extensionAttribute1 -ne "SAW"'),
        context(device=None),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "unregistered_device_matches_negative_exclude_rule",
        device_filter("exclude", 'device.extensionAttribute1 -ne "SAW"'),
        context(device=None),
        "notApplied",
        ("deviceState", "deviceFilter"),
    ),
    (
        "unregistered_device_matches_all_negative_trust_types",
        device_filter(
            "include",
            NOT_ANY_TRUST_TYPE,
        ),
        context(device=None),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "registered_device_fails_all_negative_trust_types",
        device_filter(
            "include",
            NOT_ANY_TRUST_TYPE,
        ),
        context(device=dev(trust_type="AzureAd")),
        "notApplied",
        ("deviceState", "deviceFilterIncludeRuleNotMatched"),
    ),
    (
        "trust_type_filter_spelling_matches_graph_value",
        device_filter("include", 'device.trustType -eq "AzureAD"'),
        context(device=dev(trust_type="AzureAd")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "extension_attribute_exclude_saw",
        device_filter("exclude", 'device.extensionAttribute1 -eq "CONTOSO-IT"'),
        context(device=dev(extension_attributes={"extensionAttribute1": "CONTOSO-IT"})),
        "notApplied",
        ("deviceState", "deviceFilter"),
    ),
    (
        "extension_attribute_values_are_case_insensitive",
        device_filter("exclude", 'device.extensionAttribute1 -eq "contoso-it"'),
        context(device=dev(extension_attributes={"extensionAttribute1": "CONTOSO-IT"})),
        "notApplied",
        ("deviceState", "deviceFilter"),
    ),
    (
        "device_id_in_list",
        device_filter("include", 'device.deviceId -in ["a", "dev"]'),
        context(device=dev()),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "device_id_not_in_list",
        device_filter("include", 'device.deviceId -notIn ["a", "b"]'),
        context(device=dev()),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "display_name_starts_with",
        device_filter("include", 'device.displayName -startsWith "LAPTOP-"'),
        context(device=dev(display_name="laptop-42")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "display_name_not_starts_with",
        device_filter("include", 'device.displayName -notStartsWith "LAPTOP-"'),
        context(device=dev(display_name="laptop-42")),
        "notApplied",
        ("deviceState", "deviceFilterIncludeRuleNotMatched"),
    ),
    (
        "model_ends_with",
        device_filter("include", 'device.model -endsWith "Pro"'),
        context(device=dev(model="Surface Pro")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "model_not_ends_with",
        device_filter("include", 'device.model -notEndsWith "Pro"'),
        context(device=dev(model="Surface Go")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "manufacturer_contains_substring",
        device_filter("include", 'device.manufacturer -contains "soft"'),
        context(device=dev(manufacturer="Microsoft")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "manufacturer_not_contains",
        device_filter("include", 'device.manufacturer -notContains "soft"'),
        context(device=dev(manufacturer="Apple")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "operating_system_version_in",
        device_filter("include", 'device.operatingSystemVersion -in ["10.0.18363", "10.0.19041"]'),
        context(device=dev(operating_system_version="10.0.19041")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "operating_system_eq",
        device_filter("include", 'device.operatingSystem -eq "Windows"'),
        context(device=dev(operating_system="Windows")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "enrollment_profile_name_eq",
        device_filter("include", 'device.enrollmentProfileName -eq "Kiosk"'),
        context(device=dev(enrollment_profile_name="Kiosk")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "mdm_app_id_eq",
        device_filter("include", 'device.mdmAppId -eq "0000000a-0000-0000-c000-000000000000"'),
        context(device=dev(mdm_app_id="0000000a-0000-0000-c000-000000000000")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "physical_ids_contains_whole_element",
        device_filter("include", 'device.physicalIds -contains "[ZTDId]:abc"'),
        context(device=dev(physical_ids=("[ZTDId]:abc", "[OrderId]:x"))),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "physical_ids_contains_is_not_substring",
        device_filter("include", 'device.physicalIds -contains "[ZTDId]"'),
        context(device=dev(physical_ids=("[ZTDId]:abc",))),
        "notApplied",
        ("deviceState", "deviceFilterIncludeRuleNotMatched"),
    ),
    (
        "system_labels_not_contains",
        device_filter("include", 'device.systemLabels -notContains "M365Managed"'),
        context(device=dev(system_labels=("AzureResource",))),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "profile_type_eq",
        device_filter("include", 'device.profileType -eq "SecureVM"'),
        context(device=dev(profile_type="SecureVM")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "is_compliant_false_matches_noncompliant",
        device_filter("include", 'device.isCompliant -eq "False"'),
        context(device=dev(is_compliant=False)),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "not_operator_inverts",
        device_filter("include", "-not (device.isCompliant -eq True)"),
        context(device=dev(is_compliant=False)),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "parentheses_group_or_inside_and",
        device_filter(
            "include",
            '(device.model -eq "A" -or device.model -eq "B") -and device.deviceOwnership -eq "Company"',
        ),
        context(device=dev(model="B", device_ownership="Company")),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "registered_device_missing_attribute_matches_negative",
        device_filter("include", 'device.extensionAttribute5 -ne "x"'),
        context(device=dev()),
        "failure",
        ("deviceState", "deviceFilter"),
    ),
    (
        "legacy_device_state_exclude_compliant",
        policy(**{"conditions.devices": {"includeDevices": ["All"], "excludeDevices": ["Compliant"]}}),
        context(device=COMPLIANT),
        "notApplied",
        ("deviceState", "deviceState"),
    ),
    (
        "legacy_device_state_keeps_noncompliant",
        policy(**{"conditions.devices": {"includeDevices": ["All"], "excludeDevices": ["Compliant"]}}),
        context(device=NONCOMPLIANT),
        "failure",
        ("deviceState", "allDeviceStates"),
    ),
    (
        "legacy_device_states_condition_exclude_domain_joined",
        policy(**{"conditions.deviceStates": {"includeStates": ["All"], "excludeStates": ["DomainJoined"]}}),
        context(device=HYBRID),
        "notApplied",
        ("deviceState", "deviceState"),
    ),
    (
        "unparseable_filter_does_not_exclude_fail_closed",
        device_filter("exclude", "device.isCompliant -eq"),
        context(device=COMPLIANT),
        "failure",
        ("deviceState", "allDevices"),
    ),
]


def grant(controls: list[str], operator: str = "OR", **more: Any) -> dict[str, Any]:
    return policy(**{"grantControls": {"operator": operator, "builtInControls": controls, **more}})


GRANTS: list[Case] = [
    ("block_fails", grant(["block"]), context(mfa=True), "failure", None),
    ("mfa_satisfied_succeeds", grant(["mfa"]), context(mfa=True), "success", None),
    ("mfa_missing_fails", grant(["mfa"]), context(), "failure", None),
    ("compliant_device_satisfies", grant(["compliantDevice"]), context(device=COMPLIANT), "success", None),
    ("noncompliant_device_fails", grant(["compliantDevice"]), context(device=NONCOMPLIANT), "failure", None),
    (
        "unregistered_device_cannot_satisfy_compliance",
        grant(["compliantDevice"]),
        context(device=None),
        "failure",
        None,
    ),
    (
        "expired_compliance_is_not_compliant",
        grant(["compliantDevice"]),
        context(
            device=DeviceInfo(
                device_id="x",
                is_compliant=True,
                compliance_expiration_date_time=datetime(2025, 1, 1, tzinfo=UTC),
            )
        ),
        "failure",
        None,
    ),
    (
        "future_compliance_expiry_is_compliant",
        grant(["compliantDevice"]),
        context(
            device=DeviceInfo(
                device_id="x",
                is_compliant=True,
                compliance_expiration_date_time=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ),
        "success",
        None,
    ),
    (
        "device_code_flow_cannot_pass_device_state",
        grant(["compliantDevice"]),
        context(device=COMPLIANT, authentication_flow="deviceCodeFlow"),
        "failure",
        None,
    ),
    (
        "hybrid_joined_satisfies_domain_joined",
        grant(["domainJoinedDevice"]),
        context(device=HYBRID),
        "success",
        None,
    ),
    (
        "entra_joined_is_not_domain_joined",
        grant(["domainJoinedDevice"]),
        context(device=COMPLIANT),
        "failure",
        None,
    ),
    (
        "or_compliant_or_hybrid_with_hybrid",
        grant(["compliantDevice", "domainJoinedDevice"]),
        context(device=HYBRID),
        "success",
        None,
    ),
    (
        "or_mfa_or_compliant_with_compliant_only",
        grant(["mfa", "compliantDevice"]),
        context(device=COMPLIANT),
        "success",
        None,
    ),
    (
        "and_mfa_and_compliant_with_compliant_only",
        grant(["mfa", "compliantDevice"], "AND"),
        context(device=COMPLIANT),
        "failure",
        None,
    ),
    (
        "and_mfa_and_compliant_with_both",
        grant(["mfa", "compliantDevice"], "AND"),
        context(device=COMPLIANT, mfa=True),
        "success",
        None,
    ),
    (
        "approved_app_satisfied",
        grant(["approvedApplication"]),
        context(satisfied=SatisfiedControls(approved_application=True)),
        "success",
        None,
    ),
    ("approved_app_missing", grant(["approvedApplication"]), context(), "failure", None),
    (
        "app_protection_satisfied",
        grant(["compliantApplication"]),
        context(satisfied=SatisfiedControls(compliant_application=True)),
        "success",
        None,
    ),
    (
        "password_change_done",
        grant(["mfa", "passwordChange"], "AND"),
        context(satisfied=SatisfiedControls(mfa=True, password_changed=True)),
        "success",
        None,
    ),
    ("password_change_missing", grant(["mfa", "passwordChange"], "AND"), context(mfa=True), "failure", None),
    (
        "terms_of_use_accepted",
        grant([], termsOfUse=[TOU]),
        context(satisfied=SatisfiedControls(terms_of_use=frozenset({TOU}))),
        "success",
        None,
    ),
    ("terms_of_use_not_accepted", grant([], termsOfUse=[TOU]), context(), "failure", None),
    (
        "authentication_strength_satisfied",
        grant([], authenticationStrength={"id": STRENGTH_PHISH}),
        context(satisfied=SatisfiedControls(authentication_strengths=frozenset({STRENGTH_PHISH}))),
        "success",
        None,
    ),
    (
        "authentication_strength_plain_mfa_is_not_phishing_resistant",
        grant([], authenticationStrength={"id": STRENGTH_PHISH}),
        context(mfa=True),
        "failure",
        None,
    ),
    (
        "built_in_mfa_strength_satisfied_by_mfa",
        grant([], authenticationStrength={"id": STRENGTH_MFA}),
        context(mfa=True),
        "success",
        None,
    ),
    (
        "session_only_policy_succeeds",
        policy(
            grantControls=None,
            sessionControls={"signInFrequency": {"isEnabled": True, "type": "hours", "value": 4}},
        ),
        context(),
        "success",
        None,
    ),
    (
        "legacy_client_cannot_do_mfa",
        grant(["mfa"]),
        context(client_app_type="exchangeActiveSync"),
        "failure",
        None,
    ),
]

STATES: list[Case] = [
    ("disabled_policy_is_not_enabled", policy(state="disabled"), context(), "notEnabled", None),
    (
        "report_only_block_is_report_only_failure",
        dict(grant(["block"]), state="enabledForReportingButNotEnforced"),
        context(),
        "reportOnlyFailure",
        None,
    ),
    (
        "report_only_mfa_prompt_is_interrupted",
        dict(grant(["mfa"]), state="enabledForReportingButNotEnforced"),
        context(),
        "reportOnlyInterrupted",
        None,
    ),
    (
        "report_only_satisfied_is_success",
        dict(grant(["mfa"]), state="enabledForReportingButNotEnforced"),
        context(mfa=True),
        "reportOnlySuccess",
        None,
    ),
    (
        "report_only_noncompliant_is_failure",
        dict(grant(["compliantDevice"]), state="enabledForReportingButNotEnforced"),
        context(device=NONCOMPLIANT),
        "reportOnlyFailure",
        None,
    ),
    (
        "report_only_excluded_user_not_applied",
        policy(state="enabledForReportingButNotEnforced", **{"conditions.users.excludeUsers": [USER]}),
        context(),
        "reportOnlyNotApplied",
        ("users", "userId"),
    ),
    ("state_spelling_is_case_insensitive", policy(state="Enabled"), context(mfa=True), "success", None),
    (
        "pascal_case_export_evaluates",
        {
            "Id": "p",
            "DisplayName": "P",
            "State": "enabled",
            "Conditions": {
                "Users": {"IncludeUsers": ["All"]},
                "Applications": {"IncludeApplications": ["All"]},
                "ClientAppTypes": ["all"],
            },
            "GrantControls": {"Operator": "OR", "BuiltInControls": ["block"]},
        },
        context(),
        "failure",
        ("users", "allUsers"),
    ),
]

ALL_CASES = USERS + APPLICATIONS + CLIENT_APPS + PLATFORMS + LOCATIONS + RISKS + DEVICES + GRANTS + STATES


def test_the_table_has_at_least_150_cases() -> None:
    assert len(ALL_CASES) >= 150
    assert len({name for name, *_ in ALL_CASES}) == len(ALL_CASES)


@pytest.mark.parametrize(("name", "raw", "ctx", "expected", "decided_by"), ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_sign_in_case(
    name: str, raw: dict[str, Any], ctx: SignInContext, expected: str, decided_by: tuple[str, str] | None
) -> None:
    _, result = evaluate(raw, ctx)
    assert result.result.value == expected, [c.detail for c in result.conditions] + [c.detail for c in result.controls]
    if decided_by is not None:
        if result.applies:
            deciding = next(c for c in result.conditions if c.condition == decided_by[0])
            assert deciding.satisfied
        else:
            deciding = result.conditions[-1]
            assert not deciding.satisfied
        assert (deciding.condition, deciding.rule) == decided_by
