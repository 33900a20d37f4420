"""The catalogue of Microsoft identifiers: well-formed, unambiguous, and equal to the sources it cites."""

from __future__ import annotations

import re

import pytest

from posturebridge.directory import catalog
from posturebridge.directory.catalog import (
    APPLICATION_PERMISSIONS,
    DELEGATED_PERMISSIONS,
    FIRST_PARTY_APPS,
    MICROSOFT_GRAPH_APP_ID,
    ROLE_TEMPLATES,
    SKUS,
    PermissionKind,
)

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_ALL_IDS: list[tuple[str, str]] = [
    *(("appRole " + p.value, p.id) for p in APPLICATION_PERMISSIONS),
    *(("scope " + p.value, p.id) for p in DELEGATED_PERMISSIONS),
    *(("role " + r.display_name, r.id) for r in ROLE_TEMPLATES),
    *(("app " + a.display_name, a.app_id) for a in FIRST_PARTY_APPS),
    *(("sku " + s.sku_part_number, s.sku_id) for s in SKUS),
    *((f"plan {s.sku_part_number}/{p.service_plan_name}", p.service_plan_id) for s in SKUS for p in s.service_plans),
    ("MICROSOFT_GRAPH_APP_ID", MICROSOFT_GRAPH_APP_ID),
]


@pytest.mark.parametrize(("what", "guid"), _ALL_IDS, ids=[what for what, _ in _ALL_IDS])
def test_every_id_is_a_lowercase_guid(what: str, guid: str) -> None:
    assert _GUID.match(guid), what


@pytest.mark.parametrize(
    ("kind", "ids"),
    [
        ("application permission ids", [p.id for p in APPLICATION_PERMISSIONS]),
        ("application permission values", [p.value for p in APPLICATION_PERMISSIONS]),
        ("delegated permission ids", [p.id for p in DELEGATED_PERMISSIONS]),
        ("delegated permission values", [p.value for p in DELEGATED_PERMISSIONS]),
        ("role template ids", [r.id for r in ROLE_TEMPLATES]),
        ("role template names", [r.display_name for r in ROLE_TEMPLATES]),
        ("first-party app ids", [a.app_id for a in FIRST_PARTY_APPS]),
        ("sku ids", [s.sku_id for s in SKUS]),
        ("sku part numbers", [s.sku_part_number for s in SKUS]),
    ],
)
def test_no_duplicates_within_a_kind(kind: str, ids: list[str]) -> None:
    assert len(ids) == len(set(ids)), kind


def test_no_duplicate_service_plans_within_a_sku() -> None:
    for sku in SKUS:
        names = [p.service_plan_name for p in sku.service_plans]
        assert len(names) == len(set(names)), sku.sku_part_number


def test_application_and_delegated_permissions_of_one_name_have_different_ids() -> None:
    scopes = {p.value: p.id for p in DELEGATED_PERMISSIONS}
    shared = [p for p in APPLICATION_PERMISSIONS if p.value in scopes]
    assert shared, "expected names that exist as both kinds"
    for role in shared:
        assert role.id != scopes[role.value], role.value
    # Nor does any id appear in both collections under different names.
    assert not {p.id for p in APPLICATION_PERMISSIONS} & set(scopes.values())


def test_every_entry_cites_its_source() -> None:
    sources = [
        *(p.source for p in APPLICATION_PERMISSIONS),
        *(p.source for p in DELEGATED_PERMISSIONS),
        *(r.source for r in ROLE_TEMPLATES),
        *(a.source for a in FIRST_PARTY_APPS),
        *(s.source for s in SKUS),
    ]
    assert all(sources)


def test_app_roles_are_for_applications_and_enabled() -> None:
    for role in APPLICATION_PERMISSIONS:
        assert role.allowed_member_types == ("Application",)
        assert role.is_enabled


@pytest.mark.parametrize(
    "value",
    [
        "User.Read",
        "User.Read.All",
        "User.ReadWrite.All",
        "User.ReadBasic.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.Read.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "Directory.AccessAsUser.All",
        "Device.Read.All",
        "AuditLog.Read.All",
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Policy.Read.All",
        "Policy.Read.ConditionalAccess",
        "Policy.ReadWrite.ConditionalAccess",
        "Organization.Read.All",
        "Domain.Read.All",
        "RoleManagement.Read.Directory",
        "CustomSecAttributeDefinition.ReadWrite.All",
        "CustomSecAttributeAssignment.ReadWrite.All",
        "DeviceManagementServiceConfig.Read.All",
        "DeviceManagementServiceConfig.ReadWrite.All",
        "DeviceManagementConfiguration.ReadWrite.All",
        "DeviceManagementManagedDevices.ReadWrite.All",
        "Policy.ReadWrite.MobilityManagement",
        "openid",
        "profile",
        "email",
        "offline_access",
    ],
)
def test_the_delegated_permissions_the_directory_needs_are_present(value: str) -> None:
    scope = catalog.permission(value, PermissionKind.DELEGATED)
    assert scope is not None
    assert scope.value == value
    assert scope.kind is PermissionKind.DELEGATED


# Source: microsoftgraph/microsoft-graph-devx-content permissions/permissions-descriptions.json
# (the Microsoft Graph service principal as Graph Explorer publishes it).
@pytest.mark.parametrize(
    ("value", "application_id", "delegated_id"),
    [
        ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "a154be20-db9c-4678-8ab7-66f6cc099a59"),
        (
            "Directory.Read.All",
            "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
            "06da0dbc-49e2-44d2-8312-53f166ab848a",
        ),
        (
            "GroupMember.Read.All",
            "98830695-27a2-44f7-8c18-0c3ebc9698f6",
            "bc024368-1153-4739-b217-4326f2e966d0",
        ),
        (
            "Policy.ReadWrite.ConditionalAccess",
            "01c0a623-fc9b-48e9-b794-0756f8e8f067",
            "ad902697-1014-4ef5-81ef-2b4301988e8c",
        ),
        ("Device.Read.All", "7438b122-aefc-4978-80ed-43db9fcc7715", "951183d1-1a61-466f-a6d1-1fde911bfd95"),
    ],
)
def test_graph_permission_ids_match_the_graph_service_principal(
    value: str, application_id: str, delegated_id: str
) -> None:
    app_role = catalog.app_role(value)
    scope = catalog.permission_scope(value)
    assert app_role is not None and app_role.id == application_id
    assert scope is not None and scope.id == delegated_id


def test_user_read_is_a_user_consentable_scope_per_the_graph_service_principal() -> None:
    scope = catalog.permission_scope("User.Read")
    assert scope is not None
    assert scope.id == "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
    assert scope.type == "User"
    assert scope.user_consent_display_name == "Sign you in and read your profile"
    assert scope.admin_consent_display_name == "Sign in and read user profile"


def test_directory_access_as_user_is_delegated_only_and_needs_an_admin() -> None:
    assert catalog.app_role("Directory.AccessAsUser.All") is None
    scope = catalog.permission_scope("Directory.AccessAsUser.All")
    assert scope is not None and scope.type == "Admin"


def test_permission_lookup_by_id_finds_either_kind() -> None:
    assert catalog.permission_by_id("DF021288-BDEF-4463-88DB-98F22DE89214") == catalog.app_role("User.Read.All")
    assert catalog.permission_by_id("37f7f235-527c-4136-accd-4a02d197296e") == catalog.permission_scope("openid")
    assert catalog.permission_by_id("00000000-0000-0000-0000-000000000000") is None


def test_unknown_permission_values_are_not_found() -> None:
    assert catalog.permission("User.Read", PermissionKind.APPLICATION) is None
    assert catalog.permission("Nope.Read.All", PermissionKind.DELEGATED) is None


def test_to_graph_uses_the_wire_names() -> None:
    role = catalog.app_role("Group.Read.All")
    scope = catalog.permission_scope("Group.Read.All")
    assert role is not None and scope is not None
    assert role.to_graph() == {
        "allowedMemberTypes": ["Application"],
        "description": role.description,
        "displayName": "Read all groups",
        "id": "5b567255-7703-4780-807c-7be8301ae99b",
        "isEnabled": True,
        "value": "Group.Read.All",
    }
    assert scope.to_graph()["id"] == "5f8c59db-677d-491f-a6b8-5f174b11ec1d"
    assert scope.to_graph()["type"] == "Admin"
    assert set(scope.to_graph()) == {
        "adminConsentDescription",
        "adminConsentDisplayName",
        "id",
        "isEnabled",
        "type",
        "userConsentDescription",
        "userConsentDisplayName",
        "value",
    }


@pytest.mark.parametrize(
    "name",
    [
        "Global Administrator",
        "Global Reader",
        "Privileged Role Administrator",
        "Security Administrator",
        "Conditional Access Administrator",
        "Intune Administrator",
        "Cloud Device Administrator",
        "User Administrator",
        "Groups Administrator",
        "Application Administrator",
        "Cloud Application Administrator",
        "Helpdesk Administrator",
        "Authentication Administrator",
        "Privileged Authentication Administrator",
        "Exchange Administrator",
        "SharePoint Administrator",
        "Billing Administrator",
        "Security Reader",
        "Reports Reader",
        "Attribute Definition Administrator",
        "Attribute Assignment Administrator",
        "Attribute Definition Reader",
        "Attribute Assignment Reader",
        "Directory Readers",
        "Directory Writers",
        "Windows 365 Administrator",
        "Compliance Administrator",
        "Teams Administrator",
    ],
)
def test_the_role_templates_the_directory_needs_are_present(name: str) -> None:
    template = catalog.role_template(name)
    assert template is not None
    assert catalog.role_template(template.id) is template


# Source: learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference ("All roles").
@pytest.mark.parametrize(
    ("name", "template_id"),
    [
        ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10"),
        ("Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5"),
        ("Conditional Access Administrator", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"),
        ("Attribute Assignment Reader", "ffd52fa5-98dc-465c-991d-fc073eb59f8f"),
    ],
)
def test_role_template_ids_match_the_entra_built_in_roles_page(name: str, template_id: str) -> None:
    template = catalog.role_template(name)
    assert template is not None and template.id == template_id


def test_role_template_lookup_ignores_case_of_names_and_ids() -> None:
    assert catalog.role_template("global administrator") is catalog.role_template("Global Administrator")
    assert catalog.role_template("62E90394-69F5-4237-9190-012177145E10") is catalog.role_template(
        "Global Administrator"
    )
    assert catalog.role_template("Chief Everything Officer") is None


# Source: learn.microsoft.com/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in.
@pytest.mark.parametrize(
    ("app_id", "display_name"),
    [
        ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
        ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
        ("00000002-0000-0000-c000-000000000000", "Windows Azure Active Directory"),
        ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"),
        ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API"),
    ],
)
def test_first_party_app_ids_match_the_verify_first_party_apps_page(app_id: str, display_name: str) -> None:
    app = catalog.first_party_app(app_id)
    assert app is not None and app.display_name == display_name


def test_the_intune_service_principal_the_partner_reads_is_known() -> None:
    intune = catalog.first_party_app(catalog.INTUNE_APP_ID)
    assert intune is not None
    assert intune.app_id == "0000000a-0000-0000-c000-000000000000"


# Source: learn.microsoft.com/entra/identity/users/licensing-service-plan-reference.
@pytest.mark.parametrize(
    ("part_number", "sku_id", "product_name"),
    [
        ("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "Microsoft Entra ID P1"),
        ("AAD_PREMIUM_P2", "84a661c4-e949-4bd2-a560-ed7766fcaf2b", "Microsoft Entra ID P2"),
        ("SPE_E3", "05e9a617-0261-4cee-bb44-138d3ef5d965", "Microsoft 365 E3"),
    ],
)
def test_sku_ids_match_the_licensing_service_plan_reference(part_number: str, sku_id: str, product_name: str) -> None:
    by_part = catalog.sku(part_number)
    assert by_part is not None
    assert by_part.sku_id == sku_id
    assert by_part.product_name == product_name
    assert catalog.sku(sku_id.upper()) is by_part
    assert catalog.sku(part_number.lower()) is by_part


def test_service_plan_ids_match_the_licensing_service_plan_reference() -> None:
    e3 = catalog.sku("SPE_E3")
    assert e3 is not None
    intune = e3.plan("INTUNE_A")
    entra_p1 = e3.plan("AAD_PREMIUM")
    assert intune is not None and intune.service_plan_id == "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"
    assert entra_p1 is not None and entra_p1.service_plan_id == "41781fb2-bc02-4b7c-bd55-b576c07bb09d"


@pytest.mark.parametrize(
    ("sku_ids", "plan", "granted"),
    [
        (["05e9a617-0261-4cee-bb44-138d3ef5d965"], "INTUNE_A", True),  # Microsoft 365 E3
        (["05e9a617-0261-4cee-bb44-138d3ef5d965"], "AAD_PREMIUM", True),
        (["05e9a617-0261-4cee-bb44-138d3ef5d965"], "AAD_PREMIUM_P2", False),
        (["078d2b04-f1bd-4111-bbd4-b4b1b354cef4"], "AAD_PREMIUM", True),  # Entra ID P1
        (["078d2b04-f1bd-4111-bbd4-b4b1b354cef4"], "INTUNE_A", False),
        (["84a661c4-e949-4bd2-a560-ed7766fcaf2b"], "AAD_PREMIUM", True),  # P2 includes P1
        (["84a661c4-e949-4bd2-a560-ed7766fcaf2b"], "AAD_PREMIUM_P2", True),
        (["078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "05e9a617-0261-4cee-bb44-138d3ef5d965"], "INTUNE_A", True),
        ([], "AAD_PREMIUM", False),
        (["00000000-0000-0000-0000-000000000000"], "AAD_PREMIUM", False),
    ],
)
def test_grants_service_plan_decides_by_service_plan_not_by_sku(sku_ids: list[str], plan: str, granted: bool) -> None:
    assert catalog.grants_service_plan(sku_ids, plan) is granted


def test_grants_service_plan_accepts_any_iterable() -> None:
    assert catalog.grants_service_plan(iter(["05e9a617-0261-4cee-bb44-138d3ef5d965"]), "INTUNE_A")
