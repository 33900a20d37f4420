# The strings below are Microsoft's text copied verbatim (double spaces included); wrapping them
# would hide exactly that, so long lines are allowed in this file.
# ruff: noqa: E501
"""Microsoft's well-known identifiers, as the directory emulator publishes them.

The directory seeds every tenant from this catalogue: the Microsoft Graph service principal's
appRoles and oauth2PermissionScopes, the built-in directory role templates, the first-party
service principals Conditional Access targets, and the SKUs that subscribedSkus and assignLicense
speak of. Every value was copied from a public Microsoft source named in the entry's ``source``
field; an identifier that could not be checked against such a source is left out rather than
guessed, because a wrong GUID here would make the emulator disagree with real Entra silently.

This module is data plus pure lookups: no I/O, no clock, no imports beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, overload

# Sources. Each entry names one of these, so a reader can go back to the page it came from.
_GRAPH_PERMISSIONS_SOURCE = (
    "github.com/microsoftgraph/microsoft-graph-devx-content permissions/permissions-descriptions.json "
    "@e88c5679 (Graph Explorer's copy of the Microsoft Graph service principal's permissions; "
    "see https://learn.microsoft.com/graph/permissions-reference)"
)
_CSA_SOURCE = "github.com/merill/graph-permissions-explorer (mirror of the Microsoft Graph service principal)"
_ROLES_SOURCE = (
    "https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference "
    "(github.com/MicrosoftDocs/entra-docs docs/identity/role-based-access-control/"
    "permissions-reference.md @00fe95d6, 'All roles' table)"
)
_FIRST_PARTY_SOURCE = (
    "https://learn.microsoft.com/troubleshoot/entra/entra-id/governance/verify-first-party-apps-sign-in "
    "(github.com/MicrosoftDocs/SupportArticles-docs @0d3f7df5, "
    "'Application IDs of commonly used Microsoft applications')"
)
_INTUNE_APP_SOURCE = (
    "https://learn.microsoft.com/microsoft-365/enterprise/ms-cloud-germany-transition-add-devices "
    "(github.com/MicrosoftDocs/microsoft-365-docs; the Intune service principal is the one with "
    "AppId 0000000a-0000-0000-c000-000000000000)"
)
_LICENSING_SOURCE = (
    "https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference "
    "(github.com/MicrosoftDocs/entra-docs docs/identity/users/licensing-service-plan-reference.md "
    "@067a0c7b, updated 2025-10-29)"
)

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


class PermissionKind(StrEnum):
    """Which collection of the resource service principal a permission lives in."""

    APPLICATION = "application"  # appRoles; granted through appRoleAssignments
    DELEGATED = "delegated"  # oauth2PermissionScopes; granted through oauth2PermissionGrants


@dataclass(frozen=True, slots=True)
class AppRole:
    """An application permission (an appRole of the Microsoft Graph service principal)."""

    id: str
    value: str
    display_name: str
    description: str
    source: str
    allowed_member_types: tuple[str, ...] = ("Application",)
    is_enabled: bool = True

    @property
    def kind(self) -> PermissionKind:
        return PermissionKind.APPLICATION

    def to_graph(self) -> dict[str, object]:
        """The appRole as Graph spells it on servicePrincipal.appRoles."""
        return {
            "allowedMemberTypes": list(self.allowed_member_types),
            "description": self.description,
            "displayName": self.display_name,
            "id": self.id,
            "isEnabled": self.is_enabled,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class PermissionScope:
    """A delegated permission (an oauth2PermissionScope of the Microsoft Graph service principal)."""

    id: str
    value: str
    admin_consent_display_name: str
    admin_consent_description: str
    user_consent_display_name: str
    user_consent_description: str
    # "Admin" when only an administrator may consent (the source's isAdmin), otherwise "User".
    type: Literal["Admin", "User"]
    source: str
    is_enabled: bool = True

    @property
    def kind(self) -> PermissionKind:
        return PermissionKind.DELEGATED

    def to_graph(self) -> dict[str, object]:
        """The scope as Graph spells it on servicePrincipal.oauth2PermissionScopes."""
        return {
            "adminConsentDescription": self.admin_consent_description,
            "adminConsentDisplayName": self.admin_consent_display_name,
            "id": self.id,
            "isEnabled": self.is_enabled,
            "type": self.type,
            "userConsentDescription": self.user_consent_description,
            "userConsentDisplayName": self.user_consent_display_name,
            "value": self.value,
        }


Permission = AppRole | PermissionScope


@dataclass(frozen=True, slots=True)
class RoleTemplate:
    """A built-in Microsoft Entra role; ``id`` is its roleTemplateId (the same in every tenant)."""

    id: str
    display_name: str
    description: str
    # Marked with the "privileged" label on the source page.
    is_privileged: bool
    source: str


@dataclass(frozen=True, slots=True)
class FirstPartyApp:
    """A Microsoft application whose service principal exists in customer tenants."""

    app_id: str
    display_name: str
    source: str


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """One service plan of a SKU, named as subscribedSku.servicePlans names it."""

    service_plan_id: str
    service_plan_name: str
    friendly_name: str


@dataclass(frozen=True, slots=True)
class Sku:
    """A licensable product: ``sku_id`` is subscribedSku.skuId, ``sku_part_number`` its skuPartNumber."""

    sku_id: str
    sku_part_number: str
    product_name: str
    service_plans: tuple[ServicePlan, ...]
    source: str

    def plan(self, name: str) -> ServicePlan | None:
        """The service plan with this servicePlanName, if the SKU includes it."""
        for plan in self.service_plans:
            if plan.service_plan_name == name:
                return plan
        return None


DELEGATED_PERMISSIONS: tuple[PermissionScope, ...] = (
    PermissionScope(
        id="c79f8feb-a9db-4090-85f9-90d820caa0eb",
        value="Application.Read.All",
        admin_consent_display_name="Read applications",
        admin_consent_description="Allows the app to read applications and service principals on behalf of the signed-in user.",
        user_consent_display_name="Read applications",
        user_consent_description="Allows the app to read applications and service principals on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="bdfbf15f-ee85-4955-8675-146e8e5296b5",
        value="Application.ReadWrite.All",
        admin_consent_display_name="Read and write all applications",
        admin_consent_description="Allows the app to create, read, update and delete applications and service principals on behalf of the signed-in user. Does not allow management of consent grants.",
        user_consent_display_name="Read and write applications",
        user_consent_description="Allows the app to create, read, update and delete applications and service principals on your behalf. Does not allow management of consent grants.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20",
        value="AuditLog.Read.All",
        admin_consent_display_name="Read audit log data",
        admin_consent_description="Allows the app to read and query your audit log activities, on behalf of the signed-in user.",
        user_consent_display_name="Read audit log data",
        user_consent_description="Allows the app to read and query your audit log activities, on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="ca46335e-8453-47cd-a001-8459884efeae",
        value="CustomSecAttributeAssignment.ReadWrite.All",
        admin_consent_display_name="Read and write custom security attribute assignments",
        admin_consent_description="Allows the app to read and write custom security attribute assignments for all principals in the tenant on behalf of a signed in user.",
        user_consent_display_name="Read and write custom security attribute assignments",
        user_consent_description="Allows the app to read and write custom security attribute assignments for all principals in the tenant on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="8b0160d4-5743-482b-bb27-efc0a485ca4a",
        value="CustomSecAttributeDefinition.ReadWrite.All",
        admin_consent_display_name="Read and write custom security attribute definitions",
        admin_consent_description="Allows the app to read and write custom security attribute definitions for the tenant on behalf of a signed in user.",
        user_consent_display_name="Read and write custom security attribute definitions",
        user_consent_description="Allows the app to read and write custom security attribute definitions for the tenant on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="951183d1-1a61-466f-a6d1-1fde911bfd95",
        value="Device.Read.All",
        admin_consent_display_name="Read all devices",
        admin_consent_description="Allows the app to read your organization's devices' configuration information on behalf of the signed-in user.",
        user_consent_display_name="Read all devices",
        user_consent_description="Allows the app to read devices' configuration information on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="0883f392-0a7a-443d-8c76-16a6d39c7b63",
        value="DeviceManagementConfiguration.ReadWrite.All",
        admin_consent_display_name="Read and write Microsoft Intune Device Configuration and Policies",
        admin_consent_description="Allows the app to read and write properties of Microsoft Intune-managed device configuration and device compliance policies and their assignment to groups.",
        user_consent_display_name="Read and write Microsoft Intune Device Configuration and Policies",
        user_consent_description="Allows the app to read and write properties of Microsoft Intune-managed device configuration and device compliance policies and their assignment to groups.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="44642bfe-8385-4adc-8fc6-fe3cb2c375c3",
        value="DeviceManagementManagedDevices.ReadWrite.All",
        admin_consent_display_name="Read and write Microsoft Intune devices",
        admin_consent_description="Allows the app to read and write the properties of devices managed by Microsoft Intune. Does not allow high impact operations such as remote wipe and password reset on the device’s owner.",
        user_consent_display_name="Read and write Microsoft Intune devices",
        user_consent_description="Allows the app to read and write the properties of devices managed by Microsoft Intune. Does not allow high impact operations such as remote wipe and password reset on the device’s owner.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="8696daa5-bce5-4b2e-83f9-51b6defc4e1e",
        value="DeviceManagementServiceConfig.Read.All",
        admin_consent_display_name="Read Microsoft Intune configuration",
        admin_consent_description="Allows the app to read Microsoft Intune service properties including device enrollment and third party service connection configuration.",
        user_consent_display_name="Read Microsoft Intune configuration",
        user_consent_description="Allows the app to read Microsoft Intune service properties including device enrollment and third party service connection configuration.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="662ed50a-ac44-4eef-ad86-62eed9be2a29",
        value="DeviceManagementServiceConfig.ReadWrite.All",
        admin_consent_display_name="Read and write Microsoft Intune configuration",
        admin_consent_description="Allows the app to read and write Microsoft Intune service properties including device enrollment and third party service connection configuration.",
        user_consent_display_name="Read and write Microsoft Intune configuration",
        user_consent_description="Allows the app to read and write Microsoft Intune service properties including device enrollment and third party service connection configuration.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="0e263e50-5827-48a4-b97c-d940288653c7",
        value="Directory.AccessAsUser.All",
        admin_consent_display_name="Access directory as the signed in user",
        admin_consent_description="Allows the app to have the same access to information in the directory as the signed-in user.",
        user_consent_display_name="Access the directory as you",
        user_consent_description="Allows the app to have the same access to information in your work or school directory as you do.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="06da0dbc-49e2-44d2-8312-53f166ab848a",
        value="Directory.Read.All",
        admin_consent_display_name="Read directory data",
        admin_consent_description="Allows the app to read data in your organization's directory, such as users, groups and apps.",
        user_consent_display_name="Read directory data",
        user_consent_description="Allows the app to read data in your organization's directory.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="c5366453-9fb0-48a5-a156-24f0c49a4b84",
        value="Directory.ReadWrite.All",
        admin_consent_display_name="Read and write directory data",
        admin_consent_description="Allows the app to read and write data in your organization's directory, such as users, and groups.  It does not allow the app to delete users or groups, or reset user passwords.",
        user_consent_display_name="Read and write directory data",
        user_consent_description="Allows the app to read and write data in your organization's directory, such as other users, groups.  It does not allow the app to delete users or groups, or reset user passwords.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="2f9ee017-59c1-4f1d-9472-bd5529a7b311",
        value="Domain.Read.All",
        admin_consent_display_name="Read domains.",
        admin_consent_description="Allows the app to read all domain properties on behalf of the signed-in user.",
        user_consent_display_name="Read domains.",
        user_consent_description="Allows the app to read all domain properties on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        value="email",
        admin_consent_display_name="View users' email address",
        admin_consent_description="Allows the app to read your users' primary email address",
        user_consent_display_name="View your email address",
        user_consent_description="Allows the app to read your primary email address",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="5f8c59db-677d-491f-a6b8-5f174b11ec1d",
        value="Group.Read.All",
        admin_consent_display_name="Read all groups",
        admin_consent_description="Allows the app to list groups, and to read their properties and all group memberships on behalf of the signed-in user.  Also allows the app to read calendar, conversations, files, and other group content for all groups the signed-in user can access. ",
        user_consent_display_name="Read all groups",
        user_consent_description="Allows the app to list groups, and to read their properties and all group memberships on your behalf.  Also allows the app to read calendar, conversations, files, and other group content for all groups you can access.  ",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="4e46008b-f24c-477d-8fff-7bb4ec7aafe0",
        value="Group.ReadWrite.All",
        admin_consent_display_name="Read and write all groups",
        admin_consent_description="Allows the app to create groups and read all group properties and memberships on behalf of the signed-in user.  Additionally allows group owners to manage their groups and allows group members to update group content.",
        user_consent_display_name="Read and write all groups",
        user_consent_description="Allows the app to create groups and read all group properties and memberships on your behalf.  Additionally allows the app to manage your groups and to update group content for groups you are a member of.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="bc024368-1153-4739-b217-4326f2e966d0",
        value="GroupMember.Read.All",
        admin_consent_display_name="Read group memberships",
        admin_consent_description="Allows the app to list groups, read basic group properties and read membership of all groups the signed-in user has access to.",
        user_consent_display_name="Read group memberships",
        user_consent_description="Allows the app to list groups, read basic group properties and read membership of all your groups.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        value="offline_access",
        admin_consent_display_name="Maintain access to data you have given it access to",
        admin_consent_description="Allows the app to see and update the data you gave it access to, even when users are not currently using the app. This does not give the app any additional permissions.",
        user_consent_display_name="Maintain access to data you have given it access to",
        user_consent_description="Allows the app to see and update the data you gave it access to, even when you are not currently using the app. This does not give the app any additional permissions.",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="37f7f235-527c-4136-accd-4a02d197296e",
        value="openid",
        admin_consent_display_name="Sign users in",
        admin_consent_description="Allows users to sign in to the app with their work or school accounts and allows the app to see basic user profile information.",
        user_consent_display_name="Sign in as you",
        user_consent_description="Allows you to sign in to the app with your work or school account and allows the app to read your basic profile information.",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="4908d5b9-3fb2-4b1e-9336-1888b7937185",
        value="Organization.Read.All",
        admin_consent_display_name="Read organization information",
        admin_consent_description="Allows the app to read the organization and related resources, on behalf of the signed-in user. Related resources include things like subscribed skus and tenant branding information.",
        user_consent_display_name="Read organization information",
        user_consent_description="Allows the app to read the organization and related resources, on your behalf. Related resources include things like subscribed skus and tenant branding information.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="572fea84-0151-49b2-9301-11cb16974376",
        value="Policy.Read.All",
        admin_consent_display_name="Read your organization's policies",
        admin_consent_description="Allows the app to read your organization's policies on behalf of the signed-in user.",
        user_consent_display_name="Read your organization's policies",
        user_consent_description="Allows the app to read your organization's policies on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="633e0fce-8c58-4cfb-9495-12bbd5a24f7c",
        value="Policy.Read.ConditionalAccess",
        admin_consent_display_name="Read your organization's conditional access policies",
        admin_consent_description="Allows the app to read your organization's conditional access policies on behalf of the signed-in user.",
        user_consent_display_name="Read your organization's conditional access policies",
        user_consent_description="Allows the app to read your organization's conditional access policies on your behalf.",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="ad902697-1014-4ef5-81ef-2b4301988e8c",
        value="Policy.ReadWrite.ConditionalAccess",
        admin_consent_display_name="Read and write your organization's conditional access policies",
        admin_consent_description="Allows the app to read and write your organization's conditional access policies on behalf of the signed-in user.",
        user_consent_display_name="Read and write your organization's conditional access policies",
        user_consent_description="Allows the app to read and write your organization's conditional access policies on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="a8ead177-1889-4546-9387-f25e658e2a79",
        value="Policy.ReadWrite.MobilityManagement",
        admin_consent_display_name="Read and write your organization's mobility management policies",
        admin_consent_description="Allows the app to read and write your organization's mobility management policies on behalf of the signed-in user.  For example, a mobility management policy can set the enrollment scope for a given mobility management application.",
        user_consent_display_name="Read and write your organization's mobility management policies",
        user_consent_description="Allows the app to read and write your organization's mobility management policies on your behalf.  For example, a mobility management policy can set the enrollment scope for a given mobility management application.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="14dad69e-099b-42c9-810b-d002981feec1",
        value="profile",
        admin_consent_display_name="View users' basic profile",
        admin_consent_description="Allows the app to see your users' basic profile (name, picture, user name)",
        user_consent_display_name="View your basic profile",
        user_consent_description="Allows the app to see your basic profile (name, picture, user name)",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="741c54c3-0c1e-44a1-818b-3f97ab4e8c83",
        value="RoleManagement.Read.Directory",
        admin_consent_display_name="Read directory RBAC settings",
        admin_consent_description="Allows the app to read the role-based access control (RBAC) settings for your company's directory, on behalf of the signed-in user.  This includes reading directory role templates, directory roles and memberships.",
        user_consent_display_name="Read directory RBAC settings",
        user_consent_description="Allows the app to read the role-based access control (RBAC) settings for your company's directory, on your behalf.  This includes reading directory role templates, directory roles and memberships.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        value="User.Read",
        admin_consent_display_name="Sign in and read user profile",
        admin_consent_description="Allows users to sign-in to the app, and allows the app to read the profile of signed-in users. It also allows the app to read basic company information of signed-in users.",
        user_consent_display_name="Sign you in and read your profile",
        user_consent_description="Allows you to sign in to the app with your organizational account and let the app read your profile. It also allows the app to read basic company information.",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="a154be20-db9c-4678-8ab7-66f6cc099a59",
        value="User.Read.All",
        admin_consent_display_name="Read all users' full profiles",
        admin_consent_description="Allows the app to read the full set of profile properties, reports, and managers of other users in your organization, on behalf of the signed-in user.",
        user_consent_display_name="Read all users' full profiles",
        user_consent_description="Allows the app to read the full set of profile properties, reports, and managers of other users in your organization, on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="b340eb25-3456-403f-be2f-af7a0d370277",
        value="User.ReadBasic.All",
        admin_consent_display_name="Read all users' basic profiles",
        admin_consent_description="Allows the app to read a basic set of profile properties of other users in your organization on behalf of the signed-in user. This includes display name, first and last name, email address and photo.",
        user_consent_display_name="Read all users' basic profiles",
        user_consent_description="Allows the app to read a basic set of profile properties of other users in your organization on your behalf. Includes display name, first and last name, email address and photo.",
        type="User",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    PermissionScope(
        id="204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
        value="User.ReadWrite.All",
        admin_consent_display_name="Read and write all users' full profiles",
        admin_consent_description="Allows the app to read and write the full set of profile properties, reports, and managers of other users in your organization, on behalf of the signed-in user.",
        user_consent_display_name="Read and write all users' full profiles",
        user_consent_description="Allows the app to read and write the full set of profile properties, reports, and managers of other users in your organization, on your behalf.",
        type="Admin",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
)

APPLICATION_PERMISSIONS: tuple[AppRole, ...] = (
    # The four custom security attribute application permissions are missing from the Graph Explorer
    # snapshot above; their ids come from a mirror of the live Microsoft Graph service principal
    # (github.com/merill/graph-permissions-explorer) and agree with ids seen in tenant exports.
    AppRole(
        id="b185aa14-d8d2-42c1-a685-0f5596613624",
        value="CustomSecAttributeDefinition.Read.All",
        display_name="Read custom security attribute definitions",
        description="Allows the app to read custom security attribute definitions for the tenant without a signed in user.",
        source=_CSA_SOURCE,
    ),
    AppRole(
        id="12338004-21f4-4896-bf5e-b75dfaf1016d",
        value="CustomSecAttributeDefinition.ReadWrite.All",
        display_name="Read and write custom security attribute definitions",
        description="Allows the app to read and write custom security attribute definitions for the tenant without a signed in user.",
        source=_CSA_SOURCE,
    ),
    AppRole(
        id="3b37c5a4-1226-493d-bec3-5d6c6b866f3f",
        value="CustomSecAttributeAssignment.Read.All",
        display_name="Read custom security attribute assignments",
        description="Allows the app to read custom security attribute assignments for all principals in the tenant without a signed in user.",
        source=_CSA_SOURCE,
    ),
    AppRole(
        id="de89b5e4-5b8f-48eb-8925-29c2b33bd8bd",
        value="CustomSecAttributeAssignment.ReadWrite.All",
        display_name="Read and write custom security attribute assignments",
        description="Allows the app to read and write custom security attribute assignments for all principals in the tenant without a signed in user.",
        source=_CSA_SOURCE,
    ),
    AppRole(
        id="9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        value="Application.Read.All",
        display_name="Read all applications",
        description="Allows the app to read all applications and service principals without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        value="Application.ReadWrite.All",
        display_name="Read and write all applications",
        description="Allows the app to create, read, update and delete applications and service principals without a signed-in user.  Does not allow management of consent grants.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="b0afded3-3588-46d8-8b3d-9842eff778da",
        value="AuditLog.Read.All",
        display_name="Read all audit log data",
        description="Allows the app to read and query your audit log activities, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="7438b122-aefc-4978-80ed-43db9fcc7715",
        value="Device.Read.All",
        display_name="Read all devices",
        description="Allows the app to read your organization's devices' configuration information without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="1138cb37-bd11-4084-a2b7-9f71582aeddb",
        value="Device.ReadWrite.All",
        display_name="Read and write devices",
        description="Allows the app to read and write all device properties without a signed in user.  Does not allow device creation, device deletion or update of device alternative security identifiers.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="9241abd9-d0e6-425a-bd4f-47ba86e767a4",
        value="DeviceManagementConfiguration.ReadWrite.All",
        display_name="Read and write Microsoft Intune device configuration and policies",
        description="Allows the app to read and write properties of Microsoft Intune-managed device configuration and device compliance policies and their assignment to groups, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="243333ab-4d21-40cb-a475-36241daa0842",
        value="DeviceManagementManagedDevices.ReadWrite.All",
        display_name="Read and write Microsoft Intune devices",
        description="Allows the app to read and write the properties of devices managed by Microsoft Intune, without a signed-in user. Does not allow high impact operations such as remote wipe and password reset on the device’s owner",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="06a5fe6d-c49d-46a7-b082-56b1b14103c7",
        value="DeviceManagementServiceConfig.Read.All",
        display_name="Read Microsoft Intune configuration",
        description="Allows the app to read Microsoft Intune service properties including device enrollment and third party service connection configuration, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="5ac13192-7ace-4fcf-b828-1a26f28068ee",
        value="DeviceManagementServiceConfig.ReadWrite.All",
        display_name="Read and write Microsoft Intune configuration",
        description="Allows the app to read and write Microsoft Intune service properties including device enrollment and third party service connection configuration, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        value="Directory.Read.All",
        display_name="Read directory data",
        description="Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        value="Directory.ReadWrite.All",
        display_name="Read and write directory data",
        description="Allows the app to read and write data in your organization's directory, such as users, and groups, without a signed-in user.  Does not allow user or group deletion.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="dbb9058a-0e50-45d7-ae91-66909b5d4664",
        value="Domain.Read.All",
        display_name="Read domains",
        description="Allows the app to read all domain properties without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="5b567255-7703-4780-807c-7be8301ae99b",
        value="Group.Read.All",
        display_name="Read all groups",
        description="Allows the app to read group properties and memberships, and read the calendar and conversations for all groups, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="62a82d76-70ea-41e2-9197-370581804d09",
        value="Group.ReadWrite.All",
        display_name="Read and write all groups",
        description="Allows the app to create groups, read all group properties and memberships, update group properties and memberships, and delete groups. Also allows the app to read and write group calendar and conversations.  All of these operations can be performed by the app without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="98830695-27a2-44f7-8c18-0c3ebc9698f6",
        value="GroupMember.Read.All",
        display_name="Read all group memberships",
        description="Allows the app to read memberships and basic group properties for all groups without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="498476ce-e0fe-48b0-b801-37ba7e2685c6",
        value="Organization.Read.All",
        display_name="Read organization information",
        description="Allows the app to read the organization and related resources, without a signed-in user. Related resources include things like subscribed skus and tenant branding information.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="246dd0d5-5bd0-4def-940b-0421030a5b68",
        value="Policy.Read.All",
        display_name="Read your organization's policies",
        description="Allows the app to read all your organization's policies without a signed in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="37730810-e9ba-4e46-b07e-8ca78d182097",
        value="Policy.Read.ConditionalAccess",
        display_name="Read your organization's conditional access policies",
        description="Allows the app to read your organization's conditional access policies, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="01c0a623-fc9b-48e9-b794-0756f8e8f067",
        value="Policy.ReadWrite.ConditionalAccess",
        display_name="Read and write your organization's conditional access policies",
        description="Allows the app to read and write your organization's conditional access policies, without a signed-in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        value="RoleManagement.Read.Directory",
        display_name="Read all directory RBAC settings",
        description="Allows the app to read the role-based access control (RBAC) settings for your company's directory, without a signed-in user.  This includes reading directory role templates, directory roles and memberships.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="df021288-bdef-4463-88db-98f22de89214",
        value="User.Read.All",
        display_name="Read all users' full profiles",
        description="Allows the app to read user profiles without a signed in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
    AppRole(
        id="741f803b-c850-494e-b5df-cde7c675a1ca",
        value="User.ReadWrite.All",
        display_name="Read and write all users' full profiles",
        description="Allows the app to read and update user profiles without a signed in user.",
        source=_GRAPH_PERMISSIONS_SOURCE,
    ),
)

ROLE_TEMPLATES: tuple[RoleTemplate, ...] = (
    RoleTemplate(
        id="62e90394-69f5-4237-9190-012177145e10",
        display_name="Global Administrator",
        description="Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        display_name="Global Reader",
        description="Can read everything that a Global Administrator can, but not update anything.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="e8611ab8-c189-46e8-94e1-60213ab1f814",
        display_name="Privileged Role Administrator",
        description="Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="194ae4cb-b126-40b2-bd5b-6091b380977d",
        display_name="Security Administrator",
        description="Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        display_name="Conditional Access Administrator",
        description="Can manage Conditional Access capabilities.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="3a2c62db-5318-420d-8d74-23affee5d9d5",
        display_name="Intune Administrator",
        description="Can manage all aspects of the Intune product.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="7698a772-787b-4ac8-901f-60d6b08affd2",
        display_name="Cloud Device Administrator",
        description="Limited access to manage devices in Microsoft Entra ID.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="fe930be7-5e62-47db-91af-98c3a49a38b1",
        display_name="User Administrator",
        description="Can manage all aspects of users and groups, including resetting passwords for limited admins.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="fdd7a751-b60b-444a-984c-02652fe8fa1c",
        display_name="Groups Administrator",
        description="Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        display_name="Application Administrator",
        description="Can create and manage all aspects of app registrations and enterprise apps.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="158c047a-c907-4556-b7ef-446551a6b5f7",
        display_name="Cloud Application Administrator",
        description="Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="729827e3-9c14-49f7-bb1b-9608f156bbb8",
        display_name="Helpdesk Administrator",
        description="Can reset passwords for non-administrators and Helpdesk Administrators.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="c4e39bd9-1100-46d3-8c65-fb160da0071f",
        display_name="Authentication Administrator",
        description="Can access to view, set and reset authentication method information for any non-admin user.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        display_name="Privileged Authentication Administrator",
        description="Can access to view, set and reset authentication method information for any user (admin or non-admin).",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="29232cdf-9323-42fd-ade2-1d097af3e4de",
        display_name="Exchange Administrator",
        description="Can manage all aspects of the Exchange product.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        display_name="SharePoint Administrator",
        description="Can manage all aspects of the SharePoint service.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="b0f54661-2d74-4c50-afa3-1ec803f12efe",
        display_name="Billing Administrator",
        description="Can perform common billing related tasks like updating payment information.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="5d6b6bb7-de71-4623-b4af-96380a352509",
        display_name="Security Reader",
        description="Can read security information and reports in Microsoft Entra ID and Office 365.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="4a5d8f65-41da-4de4-8968-e035b65339cf",
        display_name="Reports Reader",
        description="Can read sign-in and audit reports.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="8424c6f0-a189-499e-bbd0-26c1753c96d4",
        display_name="Attribute Definition Administrator",
        description="Define and manage the definition of custom security attributes.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="58a13ea3-c632-46ae-9ee0-9c0d43cd7f3d",
        display_name="Attribute Assignment Administrator",
        description="Assign custom security attribute keys and values to supported Microsoft Entra objects.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="1d336d2c-4ae8-42ef-9711-b3604ce3fc2c",
        display_name="Attribute Definition Reader",
        description="Read the definition of custom security attributes.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="ffd52fa5-98dc-465c-991d-fc073eb59f8f",
        display_name="Attribute Assignment Reader",
        description="Read custom security attribute keys and values for supported Microsoft Entra objects.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        display_name="Directory Readers",
        description="Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="9360feb5-f418-4baa-8175-e2a00bac4301",
        display_name="Directory Writers",
        description="Can read and write basic directory information. For granting access to applications, not intended for users.",
        is_privileged=True,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="11451d60-acb2-45eb-a7d6-43d0f0125c13",
        display_name="Windows 365 Administrator",
        description="Can provision and manage all aspects of Cloud PCs.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="17315797-102d-40b4-93e0-432062caca18",
        display_name="Compliance Administrator",
        description="Can read and manage compliance configuration and reports in Microsoft Entra ID and Microsoft 365.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
    RoleTemplate(
        id="69091246-20e8-4a56-aa4d-066075b2a7a8",
        display_name="Teams Administrator",
        description="Can manage the Microsoft Teams service.",
        is_privileged=False,
        source=_ROLES_SOURCE,
    ),
)

EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
# The Exchange Online delegated permission apps request to act as the user (requiredResourceAccess example in
# learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth).
EXCHANGE_ONLINE_DELEGATED_PERMISSIONS: tuple[PermissionScope, ...] = (
    PermissionScope(
        id="3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5",
        value="EWS.AccessAsUser.All",
        admin_consent_display_name="Access mailboxes as the signed-in user via Exchange Web Services",
        admin_consent_description="Allows the app to have the same access to mailboxes as the signed-in user via Exchange Web Services.",
        user_consent_display_name="Access your mailboxes",
        user_consent_description="Allows the app to have the same access to your mailboxes as you have via Exchange Web Services.",
        type="User",
        source="learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth",
    ),
)
INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
WINDOWS_AZURE_ACTIVE_DIRECTORY_APP_ID = "00000002-0000-0000-c000-000000000000"
MICROSOFT_OFFICE_APP_ID = "d3590ed6-52b3-4102-aeff-aad2292ab01c"

FIRST_PARTY_APPS: tuple[FirstPartyApp, ...] = (
    FirstPartyApp(MICROSOFT_GRAPH_APP_ID, "Microsoft Graph", _FIRST_PARTY_SOURCE),
    FirstPartyApp(WINDOWS_AZURE_ACTIVE_DIRECTORY_APP_ID, "Windows Azure Active Directory", _FIRST_PARTY_SOURCE),
    FirstPartyApp(EXCHANGE_ONLINE_APP_ID, "Office 365 Exchange Online", _FIRST_PARTY_SOURCE),
    FirstPartyApp("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online", _FIRST_PARTY_SOURCE),
    FirstPartyApp("00000006-0000-0ff1-ce00-000000000000", "Microsoft Office 365 Portal", _FIRST_PARTY_SOURCE),
    FirstPartyApp("00b41c95-dab0-4487-9791-b9d2c32c80f2", "Office 365 Management", _FIRST_PARTY_SOURCE),
    FirstPartyApp("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", _FIRST_PARTY_SOURCE),
    FirstPartyApp("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services", _FIRST_PARTY_SOURCE),
    FirstPartyApp("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API", _FIRST_PARTY_SOURCE),
    FirstPartyApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal", _FIRST_PARTY_SOURCE),
    FirstPartyApp(MICROSOFT_OFFICE_APP_ID, "Microsoft Office", _FIRST_PARTY_SOURCE),
    FirstPartyApp("29d9ed98-a469-4536-ade2-f981bc1d605e", "Microsoft Authentication Broker", _FIRST_PARTY_SOURCE),
    FirstPartyApp("74bcdadc-2fdc-4bb3-8459-76d06952a0e9", "Microsoft Intune Web Company Portal", _FIRST_PARTY_SOURCE),
    FirstPartyApp("fc0f3af4-6835-4174-b806-f7db311fd2f3", "Microsoft Intune Windows Agent", _FIRST_PARTY_SOURCE),
    FirstPartyApp("45a330b1-b1ec-4cc1-9161-9f03992aa49f", "Windows Store for Business", _FIRST_PARTY_SOURCE),
    # The appId is the documented one; the display name is how Entra shows this service
    # principal, which the cited page does not spell out.
    FirstPartyApp(INTUNE_APP_ID, "Microsoft Intune", _INTUNE_APP_SOURCE),
)

# Service plans as the licensing reference lists them for each SKU row.
_AAD_PREMIUM_PLAN = ServicePlan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "Microsoft Entra ID P1")
_INTUNE_A_PLAN = ServicePlan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A", "Microsoft Intune")
_AAD_PREMIUM_P2_PLAN = ServicePlan("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2", "Microsoft Entra ID P2")
_ENTRA_ID_ROW_PLANS = (
    ServicePlan("932ad362-64a8-4783-9106-97849a1a30b9", "ADALLOM_S_DISCOVERY", "CLOUD APP SECURITY DISCOVERY"),
    ServicePlan("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION", "EXCHANGE FOUNDATION"),
    ServicePlan("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM", "MICROSOFT AZURE MULTI-FACTOR AUTHENTICATION"),
)

_SPE_E3_PLANS: tuple[ServicePlan, ...] = tuple(
    ServicePlan(plan_id, name, friendly)
    for name, plan_id, friendly in (
        ("MESH_AVATARS_FOR_TEAMS", "dcf9d2f4-772e-4434-b757-77a453cfbc02", "Avatars for Teams"),
        (
            "MESH_AVATARS_ADDITIONAL_FOR_TEAMS",
            "3efbd4ed-8958-4824-8389-1321f8730af8",
            "Avatars for Teams (additional)",
        ),
        ("RMS_S_ENTERPRISE", "bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "Azure Rights Management"),
        ("CDS_O365_P2", "95b76021-6a53-4741-ab8b-1d1f3d66a95a", "Common Data Service for Teams"),
        ("EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0", "Exchange Online (Plan 2)"),
        (
            "GRAPH_CONNECTORS_SEARCH_INDEX",
            "a6520331-d7d4-4276-95f5-15c0933bc757",
            "Graph Connectors Search with Index",
        ),
        ("MESH_IMMERSIVE_FOR_TEAMS", "f0ff6ac6-297d-49cd-be34-6dfef97f0c28", "Immersive spaces for Teams"),
        (
            "ContentExplorer_Standard",
            "2b815d45-56e4-4e3a-b65c-66cb9175b560",
            "Information Protection and Governance Analytics – Standard",
        ),
        (
            "MIP_S_CLP1",
            "5136a095-5cf0-4aff-bec3-e84448b38ea5",
            "Information Protection for Office 365 - Standard",
        ),
        ("MYANALYTICS_P2", "33c4f319-9bdd-48d6-9c4d-410b750a4a5a", "Insights by MyAnalytics"),
        ("OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38", "Microsoft 365 Apps for enterprise"),
        (
            "M365_LIGHTHOUSE_CUSTOMER_PLAN1",
            "6f23d6a9-adbf-481c-8538-b4c095654487",
            "Microsoft 365 Lighthouse (Plan 1)",
        ),
        (
            "M365_LIGHTHOUSE_PARTNER_PLAN1",
            "d55411c9-cfff-40a9-87c7-240f14df7da5",
            "Microsoft 365 Lighthouse (Plan 2)",
        ),
        ("MICROSOFTBOOKINGS", "199a5c09-e0ca-4e37-8f7c-b05d533e1ea2", "Microsoft Bookings"),
        ("CLIPCHAMP", "a1ace008-72f3-4ea0-8dac-33b3a23a2472", "Microsoft Clipchamp"),
        ("MDE_LITE", "292cc034-7b7c-4950-aaf5-943befd3f1d4", "Microsoft Defender for Endpoint Plan 1"),
        ("FORMS_PLAN_E3", "2789c901-c14e-48ab-a76a-be334d9d793a", "Microsoft Forms (Plan E3)"),
        ("KAIZALA_O365_P3", "aebd3021-9f8f-4bf8-bbe3-0ed2f4f047a1", "Microsoft Kaizala Pro"),
        ("MICROSOFT_LOOP", "c4b8c31a-fb44-4c65-9837-a21f55fcabda", "Microsoft Loop"),
        ("PROJECTWORKMANAGEMENT", "b737dad2-2f6c-4c65-90e3-ca563267e8b9", "Microsoft Planner"),
        ("MICROSOFT_SEARCH", "94065c59-bc8e-4e8b-89e5-5138d471eaff", "Microsoft Search"),
        ("Deskless", "8c7d2df8-86f0-4902-b2ed-a0458298f3b3", "Microsoft StaffHub"),
        ("STREAM_O365_E3", "9e700747-8b1d-45e5-ab8d-ef187ceec156", "Microsoft Stream for Office 365 E3"),
        ("TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929", "Microsoft Teams"),
        ("INTUNE_O365", "882e1d05-acd1-4ccb-8708-6ee03664b117", "Mobile Device Management for Office 365"),
        ("Nucleus", "db4d623d-b514-490b-b7ef-8885eee514de", "Nucleus"),
        ("SHAREPOINTWAC", "e95bec33-7c88-4a70-8e19-b10bd9d0c014", "Office for the Web"),
        ("PROJECT_O365_P2", "31b4e2fc-4cd6-4e7d-9c1b-41407303bd66", "Project for Office (Plan E3)"),
        (
            "Bing_Chat_Enterprise",
            "0d0c0d31-fae7-41f2-b909-eaf4d7f26dba",
            "RETIRED - Commercial data protection for Microsoft Copilot",
        ),
        ("SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72", "SharePoint (Plan 2)"),
        ("MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "Skype for Business Online (Plan 2)"),
        ("SWAY", "a23b959c-7ce8-4e57-9140-b90eb88a9e97", "Sway"),
        ("BPOS_S_TODO_2", "c87f142c-d1e9-4363-8630-aaea9c4d9ae5", "To-Do (Plan 2)"),
        ("VIVAENGAGE_CORE", "a82fbf69-b4d7-49f4-83a6-915b2cf354f4", "Viva Engage Core"),
        ("VIVA_LEARNING_SEEDED", "b76fb638-6ba6-402a-b9f9-83d28acb3d86", "Viva Learning Seeded"),
        ("WHITEBOARD_PLAN2", "94a54592-cd8b-425e-87c6-97868b000b91", "Whiteboard (Plan 2)"),
        ("YAMMER_ENTERPRISE", "7547a3fe-08ee-4ccb-b430-5077c5041653", "Yammer Enterprise"),
        ("UNIVERSAL_PRINT_01", "795f6fe0-cc4d-4773-b050-5dde4dc704c9", "Universal Print"),
        ("WIN10_PRO_ENT_SUB", "21b439ba-a0ca-424f-a6cc-52f954a5b111", "Windows 10/11 Enterprise (Original)"),
        ("Windows_Autopatch", "9a6eeb79-0b4b-4bf0-9808-39d99a2cd5a3", "Windows Autopatch"),
        (
            "WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE",
            "7bf960f6-2cd9-443a-8046-5dbff9558365",
            "Windows Update for Business Deployment Service",
        ),
        ("RMS_S_PREMIUM", "6c57d4b6-3b23-47a5-9bc9-69f17b4947b3", "Azure Information Protection Premium P1"),
        ("DYN365_CDS_O365_P2", "4ff01e01-1ba7-4d71-8cf8-ce96c3bbcf14", "Common Data Service"),
        (
            "MFA_PREMIUM",
            "8a256a2b-b617-496d-b51b-e76466e88db0",
            "Microsoft Azure Multi-Factor Authentication",
        ),
        (
            "ADALLOM_S_DISCOVERY",
            "932ad362-64a8-4783-9106-97849a1a30b9",
            "Microsoft Defender for Cloud Apps Discovery",
        ),
        ("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "Microsoft Entra ID P1"),
        ("INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "Microsoft Intune Plan 1"),
        ("POWERAPPS_O365_P2", "c68f8d98-5534-41c8-bf36-22fa496fa792", "Power Apps for Office 365"),
        ("FLOW_O365_P2", "76846ad7-7776-4c40-a281-a386362dd1b9", "Power Automate for Office 365"),
        (
            "POWER_VIRTUAL_AGENTS_O365_P2",
            "041fe683-03e4-45b6-b1af-c0cdc516daee",
            "Power Virtual Agents for Office 365",
        ),
    )
)

SKUS: tuple[Sku, ...] = (
    Sku(
        sku_id="078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        sku_part_number="AAD_PREMIUM",
        product_name="Microsoft Entra ID P1",
        service_plans=(_AAD_PREMIUM_PLAN, *_ENTRA_ID_ROW_PLANS),
        source=_LICENSING_SOURCE,
    ),
    Sku(
        sku_id="84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        sku_part_number="AAD_PREMIUM_P2",
        product_name="Microsoft Entra ID P2",
        service_plans=(_AAD_PREMIUM_PLAN, _AAD_PREMIUM_P2_PLAN, *_ENTRA_ID_ROW_PLANS),
        source=_LICENSING_SOURCE,
    ),
    Sku(
        sku_id="05e9a617-0261-4cee-bb44-138d3ef5d965",
        sku_part_number="SPE_E3",
        product_name="Microsoft 365 E3",
        service_plans=_SPE_E3_PLANS,
        source=_LICENSING_SOURCE,
    ),
    # Row "Intune | INTUNE_A | 061f9ace-… | INTUNE_A (c1ec4a95-…)" of the same reference.
    Sku(
        sku_id="061f9ace-7d42-4136-88ac-31dc755f143f",
        sku_part_number="INTUNE_A",
        product_name="Intune",
        service_plans=(_INTUNE_A_PLAN,),
        source=_LICENSING_SOURCE,
    ),
)


# Indexes, built once from the tuples above; lookups never mutate them.
_APP_ROLES_BY_VALUE = {role.value: role for role in APPLICATION_PERMISSIONS}
_SCOPES_BY_VALUE = {scope.value: scope for scope in DELEGATED_PERMISSIONS}
_PERMISSIONS_BY_ID: dict[str, Permission] = {
    **{role.id: role for role in APPLICATION_PERMISSIONS},
    **{scope.id: scope for scope in DELEGATED_PERMISSIONS},
}
_ROLES_BY_ID = {role.id: role for role in ROLE_TEMPLATES}
_ROLES_BY_NAME = {role.display_name.casefold(): role for role in ROLE_TEMPLATES}
_APPS_BY_ID = {app.app_id: app for app in FIRST_PARTY_APPS}
_SKUS_BY_ID = {sku.sku_id: sku for sku in SKUS}
_SKUS_BY_PART_NUMBER = {sku.sku_part_number.casefold(): sku for sku in SKUS}


def app_role(value: str) -> AppRole | None:
    """The Microsoft Graph application permission with this value, e.g. ``User.Read.All``."""
    return _APP_ROLES_BY_VALUE.get(value)


def permission_scope(value: str) -> PermissionScope | None:
    """The Microsoft Graph delegated permission with this value, e.g. ``User.Read``."""
    return _SCOPES_BY_VALUE.get(value)


@overload
def permission(value: str, kind: Literal[PermissionKind.APPLICATION]) -> AppRole | None: ...
@overload
def permission(value: str, kind: Literal[PermissionKind.DELEGATED]) -> PermissionScope | None: ...
@overload
def permission(value: str, kind: PermissionKind) -> Permission | None: ...
def permission(value: str, kind: PermissionKind) -> Permission | None:
    """The permission of this kind and value; the two kinds of one name have different ids."""
    if kind is PermissionKind.APPLICATION:
        return app_role(value)
    return permission_scope(value)


def permission_by_id(permission_id: str) -> Permission | None:
    """The application or delegated permission with this id (ids are unique across both kinds)."""
    return _PERMISSIONS_BY_ID.get(permission_id.lower())


def role_template(id_or_display_name: str) -> RoleTemplate | None:
    """A built-in role by roleTemplateId, or by display name ignoring case."""
    return _ROLES_BY_ID.get(id_or_display_name.lower()) or _ROLES_BY_NAME.get(id_or_display_name.casefold())


def first_party_app(app_id: str) -> FirstPartyApp | None:
    """The first-party application with this appId."""
    return _APPS_BY_ID.get(app_id.lower())


def sku(id_or_part_number: str) -> Sku | None:
    """A SKU by skuId, or by skuPartNumber ignoring case."""
    return _SKUS_BY_ID.get(id_or_part_number.lower()) or _SKUS_BY_PART_NUMBER.get(id_or_part_number.casefold())


def grants_service_plan(sku_ids: Iterable[str], plan_name: str) -> bool:
    """Whether any of these SKUs includes the service plan named ``plan_name`` (e.g. ``INTUNE_A``).

    Entra decides "is this user licensed for Intune / does this tenant have Entra ID P1" by
    service plan, not by SKU: AAD_PREMIUM comes with Entra ID P1, P2 and Microsoft 365 E3 alike.
    Unknown SKU ids grant nothing.
    """
    for sku_id in sku_ids:
        found = _SKUS_BY_ID.get(sku_id.lower())
        if found is not None and found.plan(plan_name) is not None:
            return True
    return False
