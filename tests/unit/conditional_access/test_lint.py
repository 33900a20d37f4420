"""Lint findings over a policy set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posturebridge.conditional_access import DirectorySnapshot, lint_policies, parse_policy
from posturebridge.conditional_access.whatif import load_policy_path

DATA = Path(__file__).resolve().parents[2] / "data" / "ca-policies"


def lint(*raws: dict[str, Any], snapshot: DirectorySnapshot | None = None) -> set[tuple[str, str]]:
    return {(f.policy, f.code) for f in lint_policies([parse_policy(r) for r in raws], snapshot)}


def make(name: str, **conditions: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"],
    }
    base.update(conditions)
    return {
        "displayName": name,
        "state": "enabled",
        "conditions": base,
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def test_policy_with_no_users_can_never_apply() -> None:
    assert ("p", "neverApplies") in lint(make("p", users={"includeUsers": ["None"]}))


def test_policy_excluding_every_included_platform_can_never_apply() -> None:
    assert ("p", "neverApplies") in lint(
        make("p", platforms={"includePlatforms": ["iOS"], "excludePlatforms": ["iOS"]})
    )


def test_block_and_grant_with_same_conditions_conflict() -> None:
    grant = make("grant")
    block = dict(make("block"), grantControls={"operator": "OR", "builtInControls": ["block"]})
    assert ("grant", "conflict") in lint(grant, block)


def test_compliant_device_for_device_registration_locks_out() -> None:
    policy = make("reg", applications={"includeApplications": [], "includeUserActions": ["urn:user:registerdevice"]})
    policy["grantControls"] = {"operator": "OR", "builtInControls": ["compliantDevice"]}
    assert ("reg", "lockout") in lint(policy)


def test_compliant_device_for_all_apps_without_enrolment_exclusions_locks_out() -> None:
    policy = make("all")
    policy["grantControls"] = {"operator": "OR", "builtInControls": ["compliantDevice"]}
    assert ("all", "lockout") in lint(policy)
    policy["grantControls"] = {"operator": "OR", "builtInControls": ["compliantDevice", "mfa"]}
    assert ("all", "lockout") not in lint(policy)


def test_ids_unknown_to_the_snapshot_are_reported() -> None:
    snapshot = DirectorySnapshot.from_graph({"groups": [{"id": "known", "members": []}]})
    findings = lint(make("p", users={"includeGroups": ["known", "unknown-group"]}), snapshot=snapshot)
    assert ("p", "unknownId") in findings
    ok = lint(make("q", users={"includeGroups": ["known"]}), snapshot=snapshot)
    assert ("q", "unknownId") not in ok


def test_real_templates_report_placeholders_and_no_parse_errors() -> None:
    findings = lint_policies(load_policy_path(DATA / "AlexFilipin-ConditionalAccess").policies)
    codes = {f.code for f in findings}
    assert "placeholder" in codes
    assert "parseError" not in codes
