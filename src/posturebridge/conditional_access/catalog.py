"""Well-known application ids behind the keywords ``Office365`` and ``MicrosoftAdminPortals``.

The lists are partial on purpose: Microsoft publishes them as prose, not data
(learn.microsoft.com/entra/identity/conditional-access/reference-office-365-application-contents,
concept-conditional-access-cloud-apps#microsoft-admin-portals). A caller that knows better passes
``ResourceApplication.app_groups`` and this catalogue is not consulted.
"""

from __future__ import annotations

OFFICE365 = "Office365"
MICROSOFT_ADMIN_PORTALS = "MicrosoftAdminPortals"

APP_GROUPS: dict[str, frozenset[str]] = {
    OFFICE365: frozenset(
        {
            "00000002-0000-0ff1-ce00-000000000000",  # Office 365 Exchange Online
            "00000003-0000-0ff1-ce00-000000000000",  # Office 365 SharePoint Online
            "00000004-0000-0ff1-ce00-000000000000",  # Skype for Business Online
            "00000005-0000-0ff1-ce00-000000000000",  # Office 365 Yammer
            "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",  # Microsoft Teams Services
            "09abbdfd-ed23-44ee-a2d9-a627aa1c90f3",  # Microsoft Planner
            "c9a559d2-7aab-4f13-a6ed-e7e9c52aec87",  # Microsoft Forms
            "2634dd23-5e5a-431c-81ca-11710d9079f4",  # Microsoft Stream
            "905fcf26-4eb7-48a0-9ff0-8dcc7194b5ba",  # Sway
            "4765445b-32c6-49b0-83e6-1d93765276ca",  # OfficeHome
        }
    ),
    MICROSOFT_ADMIN_PORTALS: frozenset(
        {
            "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",  # Azure portal
            "00000006-0000-0ff1-ce00-000000000000",  # Microsoft 365 admin center (Office 365 portal)
        }
    ),
}


def app_groups_of(app_id: str) -> frozenset[str]:
    """The keyword groups an application id belongs to, by the catalogue."""
    key = app_id.casefold()
    return frozenset(name for name, members in APP_GROUPS.items() if key in members)


# Entra's built-in authentication strength "Multifactor authentication" (any MFA satisfies it).
MFA_AUTHENTICATION_STRENGTH_ID = "00000000-0000-0000-0000-000000000002"

# Applications a compliant-device policy must not lock out during registration and enrolment
# (concept-conditional-access-grant, policy-all-users-device-compliance).
DEVICE_REGISTRATION_APPS: dict[str, str] = {
    "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9": "Device Registration Service",
    "d4ebce55-015a-49b5-a083-c84d1797ae8c": "Microsoft Intune Enrollment",
    "0000000a-0000-0000-c000-000000000000": "Microsoft Intune",
}
