"""Combining policies: block wins, every enforced policy must pass, report-only never enforces."""

from __future__ import annotations

from typing import Any

import pytest

from posturebridge.conditional_access import Access, compile_policies
from tests.unit.conditional_access.test_signin_cases import COMPLIANT, NONCOMPLIANT, NOW, context, grant, policy


def named(raw: dict[str, Any], name: str, **more: Any) -> dict[str, Any]:
    return {**raw, "id": name, "displayName": name, **more}


@pytest.mark.parametrize(
    ("policies", "ctx", "access", "status", "code"),
    [
        ([], context(), Access.GRANTED, "notApplied", 0),
        ([named(grant(["block"]), "block")], context(), Access.BLOCKED, "failure", 53003),
        ([named(grant(["mfa"]), "mfa")], context(), Access.INTERRUPTED, "failure", 50076),
        ([named(grant(["mfa"]), "mfa")], context(mfa=True), Access.GRANTED, "success", 0),
        (
            [named(grant(["compliantDevice"]), "c")],
            context(device=NONCOMPLIANT),
            Access.BLOCKED,
            "failure",
            53000,
        ),
        ([named(grant(["compliantDevice"]), "c")], context(device=None), Access.BLOCKED, "failure", 50097),
        (
            [named(grant(["domainJoinedDevice"]), "h")],
            context(device=COMPLIANT),
            Access.BLOCKED,
            "failure",
            53001,
        ),
        ([named(grant(["approvedApplication"]), "a")], context(), Access.BLOCKED, "failure", 53002),
        (
            [named(grant(["mfa"]), "m"), named(grant(["block"]), "b")],
            context(mfa=True),
            Access.BLOCKED,
            "failure",
            53003,
        ),
        (
            [named(grant(["mfa"]), "m"), named(grant(["compliantDevice"]), "c")],
            context(mfa=True, device=NONCOMPLIANT),
            Access.BLOCKED,
            "failure",
            53000,
        ),
        (
            [named(grant(["mfa"]), "m"), named(grant(["compliantDevice"]), "c")],
            context(mfa=True, device=COMPLIANT),
            Access.GRANTED,
            "success",
            0,
        ),
        (
            [named(grant(["block"]), "r", state="enabledForReportingButNotEnforced")],
            context(),
            Access.GRANTED,
            "notApplied",
            0,
        ),
        ([named(grant(["block"]), "d", state="disabled")], context(), Access.GRANTED, "notApplied", 0),
        (
            [named(policy(**{"conditions.users.excludeUsers": ["11111111-1111-1111-1111-111111111111"]}), "x")],
            context(),
            Access.GRANTED,
            "notApplied",
            0,
        ),
    ],
    ids=[
        "no_policies_grant",
        "block_wins",
        "missing_mfa_interrupts_with_50076",
        "satisfied_mfa_grants",
        "noncompliant_device_is_53000",
        "unregistered_device_is_50097",
        "not_hybrid_joined_is_53001",
        "not_approved_app_is_53002",
        "block_wins_over_satisfied_policy",
        "every_enforced_policy_must_be_satisfied",
        "all_policies_satisfied_grant",
        "report_only_is_never_enforced",
        "disabled_is_ignored",
        "excluded_user_not_applied",
    ],
)
def test_decision(policies: list[dict[str, Any]], ctx: Any, access: Access, status: str, code: int) -> None:
    decision = compile_policies(policies).evaluate(ctx, NOW)
    assert (decision.access, decision.conditional_access_status, decision.error_code) == (
        access,
        status,
        code,
    )
    assert len(decision.policies) == len(policies)


def test_sign_in_log_shape_has_every_policy_with_graph_fields() -> None:
    decision = compile_policies(
        [named(grant(["mfa", "compliantDevice"]), "p1"), named(grant(["block"]), "p2", state="disabled")]
    ).evaluate(context(mfa=True), NOW)
    log = decision.to_sign_in_log()
    assert log["conditionalAccessStatus"] == "success"
    assert log["status"]["errorCode"] == 0
    first, second = log["appliedConditionalAccessPolicies"]
    assert first["enforcedGrantControls"] == ["Mfa", "RequireCompliantDevice"]
    assert first["result"] == "success"
    assert first["conditionsSatisfied"] == "users,application"
    assert second["result"] == "notEnabled"


def test_what_if_shape_reports_policy_applies_and_analysis_reasons() -> None:
    excluded = named(policy(**{"conditions.platforms": {"includePlatforms": ["android"]}}), "android-only")
    applying = named(grant(["mfa"]), "all")
    disabled = named(grant(["mfa"]), "off", state="disabled")
    items = compile_policies([excluded, applying, disabled]).evaluate(context(), NOW).to_what_if()
    reasons = {item["id"]: (item["policyApplies"], item["analysisReasons"]) for item in items}
    assert reasons == {
        "android-only": (False, "devicePlatform"),
        "all": (True, "notSet"),
        "off": (False, "policyNotEnabled"),
    }


def test_compiled_set_can_be_reused_across_contexts_without_leaking_state() -> None:
    compiled = compile_policies([named(policy(**{"conditions.users.excludeGroups": ["g"]}), "p")])
    first = compiled.evaluate(context(groups=["g"]), NOW).policies[0]
    second = compiled.evaluate(context(), NOW).policies[0]
    assert first.result.value == "notApplied"
    assert second.result.value == "failure"


def test_json_output_has_an_entry_and_reasons_for_every_policy() -> None:
    payload = (
        compile_policies([named(grant(["mfa"]), "a"), named(grant(["block"]), "b", state="disabled")])
        .evaluate(context(), NOW)
        .to_json()
    )
    assert set(payload) >= {"conditionalAccessStatus", "errorCode", "appliedConditionalAccessPolicies"}
    entries = payload["appliedConditionalAccessPolicies"]
    assert [e["id"] for e in entries] == ["a", "b"]
    assert all(set(e) >= {"id", "displayName", "result", "enforcedGrantControls", "reasons"} for e in entries)
    assert entries[0]["reasons"][0]["condition"] == "users"
