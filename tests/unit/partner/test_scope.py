"""The users in the compliance partner's scope and their licences, computed from what Graph returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from posturebridge.partner.scope import DirectoryFacts, ScopeSnapshot, compute, diff, verdict

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
INTUNE_SKU = "061f9ace-7d42-4136-88ac-31dc755f143f"
INTUNE_PLAN_ID = "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"
P1_SKU = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
SKUS = [
    {
        "skuId": P1_SKU,
        "capabilityStatus": "Enabled",
        "servicePlans": [{"servicePlanId": "p1", "servicePlanName": "AAD_PREMIUM"}],
    },
    {
        "skuId": INTUNE_SKU,
        "capabilityStatus": "Enabled",
        "servicePlans": [{"servicePlanId": INTUNE_PLAN_ID, "servicePlanName": "INTUNE_A"}],
    },
]


def target(kind: str, group_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}"}
    if group_id:
        found["groupId"] = group_id
    return {"target": found}


def partner(**assignments: list[dict[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {"displayName": "posturebridge"}
    for platform, targets in assignments.items():
        record[f"{platform}Onboarded"] = True
        record[f"{platform}EnrollmentAssignments"] = targets
    return record


def user(user_id: str, *, licensed: bool = True, disabled: tuple[str, ...] = ()) -> dict[str, Any]:
    licences = [{"skuId": INTUNE_SKU, "disabledPlans": list(disabled)}] if licensed else []
    return {"id": user_id, "userPrincipalName": f"{user_id}@contoso.example", "assignedLicenses": licences}


def snapshot(
    partners: list[dict[str, Any]],
    users: list[dict[str, Any]],
    groups: dict[str, set[str]],
    skus: list[dict[str, Any]] = SKUS,
) -> ScopeSnapshot:
    members = {g: frozenset(m) for g, m in groups.items()}
    return compute(DirectoryFacts(partners, users, members, {"g-in": "Sales", "g-out": "Contractors"}, skus), NOW)


def test_exclusion_wins_over_inclusion() -> None:
    found = snapshot(
        [partner(ios=[target("groupAssignmentTarget", "g-in"), target("exclusionGroupAssignmentTarget", "g-out")])],
        [user("megan"), user("alex")],
        {"g-in": {"megan", "alex"}, "g-out": {"alex"}},
    )
    megan, alex = found.user("megan@contoso.example"), found.user("ALEX@contoso.example")
    assert megan is not None and megan.placements["ios"].in_scope
    assert alex is not None and not alex.placements["ios"].in_scope
    assert alex.placements["ios"].reason == "excluded by group 'Contractors' (g-out)"


def test_all_users_target_includes_everyone_not_excluded() -> None:
    found = snapshot(
        [
            partner(
                android=[target("allLicensedUsersAssignmentTarget"), target("exclusionGroupAssignmentTarget", "g-out")]
            )
        ],
        [user("megan"), user("alex")],
        {"g-out": {"alex"}},
    )
    assert (
        verdict(found, tenant="t", channel="intune", platform="android", user_principal_name="megan@contoso.example")
        is None
    )
    reason = verdict(
        found, tenant="t", channel="intune", platform="android", user_principal_name="alex@contoso.example"
    )
    assert reason is not None and "excluded by group 'Contractors'" in reason


@pytest.mark.parametrize(
    ("licence", "expected"),
    [
        ({}, None),
        ({"licensed": False}, "user megan@contoso.example has no Intune licence (INTUNE_A)"),
        ({"disabled": (INTUNE_PLAN_ID,)}, "user megan@contoso.example has no Intune licence (INTUNE_A)"),
    ],
)
def test_the_intune_channel_needs_an_enabled_intune_plan(licence: dict[str, Any], expected: str | None) -> None:
    found = snapshot(
        [partner(ios=[target("groupAssignmentTarget", "g-in")])], [user("megan", **licence)], {"g-in": {"megan"}}
    )
    assert (
        verdict(found, tenant="t", channel="intune", platform="iOS", user_principal_name="megan@contoso.example")
        == expected
    )


def test_a_tenant_without_entra_id_p1_reports_nothing_on_any_channel() -> None:
    found = snapshot([partner(ios=[target("allLicensedUsersAssignmentTarget")])], [user("megan")], {}, skus=SKUS[1:])
    for channel, platform in (("intune", "iOS"), ("windows", "windows")):
        reason = verdict(
            found, tenant="t1", channel=channel, platform=platform, user_principal_name="megan@contoso.example"
        )
        assert reason == "tenant t1 has no Microsoft Entra ID P1 subscription (AAD_PREMIUM)"


def test_windows_is_scoped_only_when_the_partner_record_onboards_it() -> None:
    found = snapshot([partner(ios=[target("groupAssignmentTarget", "g-in")])], [user("megan")], {"g-in": set()})
    assert verdict(found, tenant="t", channel="windows", platform="windows", user_principal_name=None) is None
    reason = verdict(found, tenant="t", channel="intune", platform="macOS", user_principal_name="megan@contoso.example")
    assert reason == "the compliance partner is not onboarded for macOS in the directory"


def test_diff_names_users_entering_and_leaving_scope_and_licence_changes() -> None:
    partners = [
        partner(ios=[target("groupAssignmentTarget", "g-in"), target("exclusionGroupAssignmentTarget", "g-out")])
    ]
    before = snapshot(
        partners, [user("megan"), user("alex", licensed=False)], {"g-in": {"megan", "alex"}, "g-out": {"megan"}}
    )
    after = snapshot(partners, [user("megan"), user("alex")], {"g-in": {"megan", "alex"}, "g-out": {"alex"}})
    changes = {(c.kind, c.subject): c.detail for c in diff(before, after)}
    assert changes == {
        ("userAdded", "megan@contoso.example"): "ios: included by group 'Sales' (g-in)",
        ("userRemoved", "alex@contoso.example"): "ios: excluded by group 'Contractors' (g-out)",
        ("licenceGained", "alex@contoso.example"): "Intune (INTUNE_A)",
    }
    assert diff(None, after) == []


def test_a_snapshot_survives_its_json_form() -> None:
    found = snapshot([partner(ios=[target("groupAssignmentTarget", "g-in")])], [user("megan")], {"g-in": {"megan"}})
    assert ScopeSnapshot.from_json(found.to_json()) == found
