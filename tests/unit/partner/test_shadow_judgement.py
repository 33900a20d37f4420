"""Shadow mode's judgement of What If results: which applied policies a user could not satisfy from a device,
and which applications to ask about."""

from __future__ import annotations

from typing import Any

import pytest

from posturebridge.partner.shadow import EXCHANGE_ONLINE, access_blockers, device_applications

COMPLIANT = {"isCompliant": True, "trustType": "AzureAd"}
NOT_COMPLIANT = {"isCompliant": False, "trustType": "AzureAd"}
HYBRID = {"isCompliant": False, "trustType": "ServerAd"}


def applied(
    name: str, controls: list[str], operator: str = "OR", state: str = "enabled", **grant: Any
) -> dict[str, Any]:
    return {
        "displayName": name,
        "state": state,
        "policyApplies": True,
        "grantControls": {"operator": operator, "builtInControls": controls, **grant},
    }


@pytest.mark.parametrize(
    ("policies", "device", "blocking"),
    [
        ([applied("compliant", ["compliantDevice"])], COMPLIANT, []),
        ([applied("compliant", ["compliantDevice"])], NOT_COMPLIANT, ["compliant"]),
        ([applied("either", ["compliantDevice", "domainJoinedDevice"])], HYBRID, []),
        ([applied("both", ["compliantDevice", "domainJoinedDevice"], "AND")], HYBRID, ["both"]),
        ([applied("compliant or mfa", ["compliantDevice", "mfa"])], NOT_COMPLIANT, []),
        ([applied("compliant and mfa", ["compliantDevice", "mfa"], "AND")], NOT_COMPLIANT, ["compliant and mfa"]),
        ([applied("block", ["block"])], COMPLIANT, ["block"]),
        ([applied("report only", ["compliantDevice"], state="enabledForReportingButNotEnforced")], NOT_COMPLIANT, []),
        ([{**applied("not applied", ["compliantDevice"]), "policyApplies": False}], NOT_COMPLIANT, []),
        ([applied("session only", [])], NOT_COMPLIANT, []),
        (
            [applied("strength", [], authenticationStrength={"id": "00000000-0000-0000-0000-000000000002"})],
            NOT_COMPLIANT,
            [],
        ),
        ([applied("a", ["compliantDevice"]), applied("b", ["mfa"])], NOT_COMPLIANT, ["a"]),
    ],
)
def test_blockers_are_the_enabled_applied_policies_the_device_cannot_satisfy(
    policies: list[dict[str, Any]], device: dict[str, Any], blocking: list[str]
) -> None:
    assert access_blockers(policies, device) == blocking


def test_device_applications_are_those_of_enabled_device_policies_with_groups_mapped() -> None:
    policies = [
        {
            "state": "enabled",
            "conditions": {"applications": {"includeApplications": ["Office365", "app-1"]}},
            "grantControls": {"builtInControls": ["compliantDevice"]},
        },
        {
            "state": "enabled",
            "conditions": {"applications": {"includeApplications": ["All"]}},
            "grantControls": {"builtInControls": ["domainJoinedDevice", "mfa"]},
        },
        {
            "state": "enabled",
            "conditions": {"applications": {"includeApplications": ["app-2"]}},
            "grantControls": {"builtInControls": ["mfa"]},
        },
        {
            "state": "enabledForReportingButNotEnforced",
            "conditions": {"applications": {"includeApplications": ["app-3"]}},
            "grantControls": {"builtInControls": ["compliantDevice"]},
        },
        {
            "state": "enabled",
            "conditions": {"applications": {"includeApplications": ["None"]}},
            "grantControls": {"builtInControls": ["compliantDevice"]},
        },
    ]
    assert device_applications(policies) == [EXCHANGE_ONLINE, "app-1"]
