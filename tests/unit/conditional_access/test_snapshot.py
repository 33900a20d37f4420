"""Directory snapshot lookups: transitive groups, roles, custom security attributes, named locations."""

from __future__ import annotations

from posturebridge.conditional_access import DirectorySnapshot

SNAPSHOT = {
    "users": [
        {"id": "u1", "userPrincipalName": "Ada@contoso.com", "userType": "Member"},
        {"id": "g1", "userPrincipalName": "guest_fabrikam.com#EXT#@contoso.com", "userType": "Guest"},
    ],
    "groups": [
        {"id": "inner", "members": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]},
        {"id": "outer", "members": [{"@odata.type": "#microsoft.graph.group", "id": "inner"}]},
        {"id": "admins", "members": ["u1"]},
    ],
    "directoryRoles": [
        {
            "id": "r-obj",
            "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10",
            "members": [{"id": "admins"}],
        }
    ],
    "servicePrincipals": [
        {
            "id": "sp-obj",
            "appId": "app-1",
            "customSecurityAttributes": {
                "Engineering": {
                    "@odata.type": "#microsoft.graph.customSecurityAttributeValue",
                    "Project@odata.type": "#Collection(String)",
                    "Project": ["Baker", "Cascade"],
                    "Level": "High",
                }
            },
        }
    ],
    "namedLocations": [
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": "loc",
            "isTrusted": True,
            "ipRanges": [{"cidrAddress": "10.0.0.0/8"}],
        }
    ],
}


def test_user_by_upn_has_transitive_groups_and_roles_through_groups() -> None:
    user = DirectorySnapshot.from_graph(SNAPSHOT).user("ada@contoso.com")
    assert user is not None
    assert user.group_ids == {"inner", "outer", "admins"}
    assert user.role_template_ids == {"62e90394-69f5-4237-9190-012177145e10"}


def test_guest_with_ext_upn_is_a_b2b_collaboration_guest() -> None:
    user = DirectorySnapshot.from_graph(SNAPSHOT).user("g1")
    assert user is not None and user.user_type == "guest"
    assert user.guest_or_external_user_type == "b2bCollaborationGuest"


def test_application_carries_flattened_custom_security_attributes() -> None:
    app = DirectorySnapshot.from_graph(SNAPSHOT).application("app-1")
    assert app.custom_security_attributes == {
        "Engineering_Project": ("Baker", "Cascade"),
        "Engineering_Level": ("High",),
    }


def test_unknown_user_is_none_and_named_locations_are_parsed() -> None:
    snapshot = DirectorySnapshot.from_graph(SNAPSHOT)
    assert snapshot.user("nobody") is None
    assert snapshot.named_locations[0].is_trusted
