"""Every real export parses; quirks are reported as issues with JSON paths, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posturebridge.conditional_access import (
    IssueKind,
    PolicyState,
    decode_json_bytes,
    parse_policy,
    policy_objects,
)
from posturebridge.conditional_access.whatif import load_policy_path

DATA = Path(__file__).resolve().parents[2] / "data" / "ca-policies"
FILES = sorted(p for p in DATA.rglob("*.json") if "NamedLocations" not in p.parts)


def test_every_export_is_present() -> None:
    assert len(FILES) == 187  # 189 policies: the docs list responses hold several


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_every_real_export_parses_without_errors(path: Path) -> None:
    document = decode_json_bytes(path.read_bytes())
    for json_path, raw in policy_objects(document):
        parsed = parse_policy(raw, json_path, path.name)
        errors = [i for i in parsed.policy.issues if i.kind is IssueKind.ERROR]
        assert errors == []
        assert parsed.policy.display_name


def test_utf16_bom_export_is_decoded() -> None:
    raw = (
        DATA
        / "j0eyv-ConditionalAccessBaseline/ConditionalAccess"
        / "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA.json"
    ).read_bytes()
    assert raw[:2] == b"\xff\xfe"
    assert decode_json_bytes(raw)["displayName"].startswith("CA000")


def test_placeholders_are_reported_as_placeholders() -> None:
    source = load_policy_path(DATA / "AlexFilipin-ConditionalAccess")
    kinds = {(i.kind, i.path.split(".")[-1].split("[")[0]) for p in source.policies for i in p.policy.issues}
    assert (IssueKind.PLACEHOLDER, "excludeGroups") in kinds
    assert (IssueKind.PLACEHOLDER, "displayName") in kinds
    assert (IssueKind.PLACEHOLDER, "termsOfUse") in kinds


def test_unknown_future_fields_are_kept_and_reported() -> None:
    raw = {
        "displayName": "future",
        "state": "enabled",
        "futureTopLevel": {"x": 1},
        "conditions": {"users": {"includeUsers": ["All"], "includeAgents": ["x"]}, "applications": {}},
    }
    parsed = parse_policy(raw)
    assert parsed.unknown == {"$.futureTopLevel": {"x": 1}, "$.conditions.users.includeAgents": ["x"]}
    assert {i.path for i in parsed.policy.issues if i.kind is IssueKind.UNKNOWN_FIELD} == set(parsed.unknown)


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"displayName": "x", "state": "on", "conditions": {"users": {}}}, "$.state", "unknown state"),
        (
            {
                "displayName": "x",
                "state": "enabled",
                "conditions": {"users": {"includeUsers": "All,None"}, "clientAppTypes": ["fax"]},
            },
            "$.conditions.clientAppTypes[0]",
            "unknown value",
        ),
        (
            {"displayName": "x", "state": "enabled", "conditions": {"users": {"includeGroups": [1]}}},
            "$.conditions.users.includeGroups[0]",
            "expected a string",
        ),
        (
            {
                "displayName": "x",
                "state": "enabled",
                "conditions": {
                    "users": {},
                    "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.model -eq"}},
                },
            },
            "$.conditions.devices.deviceFilter.rule",
            "position 16",
        ),
        (
            {"displayName": "x", "state": "enabled", "conditions": {"users": {}, "platforms": "windows"}},
            "$.conditions.platforms",
            "expected an object",
        ),
        (
            {
                "displayName": "x",
                "state": "enabled",
                "conditions": {"users": {}},
                "grantControls": {"operator": "XOR"},
            },
            "$.grantControls.operator",
            "AND or OR",
        ),
        ({"displayName": "x", "state": "enabled"}, "$.conditions", "required"),
    ],
    ids=[
        "bad_state",
        "bad_enum",
        "non_string_id",
        "bad_rule",
        "wrong_type",
        "bad_operator",
        "missing_conditions",
    ],
)
def test_validation_errors_name_the_json_path(raw: dict[str, object], path: str, fragment: str) -> None:
    issues = parse_policy(raw).policy.issues
    assert any(i.path == path and fragment in i.message for i in issues), [str(i) for i in issues]


def test_null_and_empty_lists_mean_the_same() -> None:
    a = parse_policy({"displayName": "a", "state": "enabled", "conditions": {"users": {"includeUsers": None}}})
    b = parse_policy({"displayName": "a", "state": "enabled", "conditions": {"users": {"includeUsers": []}}})
    assert a.policy.conditions == b.policy.conditions


def test_scubagear_pascal_case_export_reads_like_graph() -> None:
    path = (
        DATA
        / "cisagov-ScubaGear/CreateReportStubs"
        / "08-TEST_-_Require_Device_Signal_using_conditions_limited_users.json"
    )
    policy = parse_policy(json.loads(path.read_text())).policy
    assert policy.state is PolicyState.REPORT_ONLY
    assert policy.conditions.devices is not None and policy.conditions.devices.device_filter is not None
    assert policy.conditions.devices.device_filter.node is not None
    assert policy.conditions.client_applications is None  # all-null object means not configured
    assert policy.grant_controls is not None and policy.grant_controls.authentication_strength is None


def test_graph_list_response_and_array_and_single_object_are_all_read() -> None:
    one = {"displayName": "a", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}}}
    assert len(list(policy_objects(one))) == 1
    assert len(list(policy_objects([one, one]))) == 2
    assert [p for p, _ in policy_objects({"value": [one]})] == ["$.value[0]"]


def test_named_locations_in_a_folder_are_picked_up() -> None:
    source = load_policy_path(DATA / "j0eyv-ConditionalAccessBaseline")
    assert len(source.named_locations) == 3
    assert len(source.policies) == 36
