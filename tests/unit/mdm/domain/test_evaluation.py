from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from posturebridge.mdm.domain import (
    DEFAULT_POLICY_ID,
    ComplianceEvaluation,
    CompliancePolicy,
    ComplianceSettings,
    ComplianceState,
    Device,
    EnrollmentStatus,
    Platform,
    PostureSample,
    PriorEvaluation,
    RuleOutcome,
    evaluate_compliance,
    parse_os_version,
)

from .factories import DAY, HOUR, NOW, make_device, make_policy, make_sample

S = ComplianceState
SETTINGS = ComplianceSettings()
ESCALATION = [
    {"actionType": "notification", "gracePeriodHours": 0},
    {"actionType": "notification", "gracePeriodHours": 48},
    {"actionType": "block", "gracePeriodHours": 72},
]
BASELINE = make_policy(
    Platform.IOS,
    rules=[{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
    actions=ESCALATION,
)
OLD_OS = {"os_version": parse_os_version(Platform.IOS, "16.7")}
NO_PASSCODE = {"passcode_present": False}


def evaluate(
    *,
    device: Device | None = None,
    sample: PostureSample | dict[str, Any] | None = None,
    policies: Sequence[CompliancePolicy] = (BASELINE,),
    previous: ComplianceEvaluation | PriorEvaluation | None = None,
    settings: ComplianceSettings = SETTINGS,
    now: dt.datetime = NOW,
) -> ComplianceEvaluation:
    """Evaluate with a healthy iOS device; ``sample`` as a dict tweaks a healthy sample."""
    device = device or make_device(Platform.IOS, last_seen_at=now - HOUR)
    if isinstance(sample, dict):
        sample = make_sample(device.platform, **sample)
    prior = previous.to_prior() if isinstance(previous, ComplianceEvaluation) else previous
    return evaluate_compliance(device, sample, policies, prior, settings, now)


def healthy() -> dict[str, Any]:
    return {}


# --- every state -------------------------------------------------------------------------------

SCENARIOS: list[tuple[str, Callable[[], ComplianceEvaluation], ComplianceState, bool]] = [
    ("passing_sample", lambda: evaluate(sample=healthy()), S.COMPLIANT, True),
    ("failing_rule_in_grace", lambda: evaluate(sample=OLD_OS), S.IN_GRACE_PERIOD, True),
    (
        "failing_rule_without_grace",
        lambda: evaluate(sample=OLD_OS, policies=[make_policy(rules=[{"type": "osMinimumVersion", "version": "17"}])]),
        S.NONCOMPLIANT,
        False,
    ),
    ("enrolled_without_sample", lambda: evaluate(sample=None), S.NOT_EVALUATED, False),
    ("no_policy_assigned", lambda: evaluate(sample=healthy(), policies=[]), S.NOT_APPLICABLE, True),
    ("rule_cannot_be_checked", lambda: evaluate(sample={"passcode_present": None}), S.ERROR, False),
]


@pytest.mark.parametrize(("name", "run", "state", "is_compliant"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_each_state_and_whether_it_counts_as_compliant(
    name: str, run: Callable[[], ComplianceEvaluation], state: ComplianceState, is_compliant: bool
) -> None:
    evaluation = run()
    assert evaluation.state is state
    assert evaluation.is_compliant is is_compliant


def test_the_scenarios_cover_every_state() -> None:
    assert {s[2] for s in SCENARIOS} == set(ComplianceState)


def test_a_compliant_device_has_nothing_failing_and_nothing_due() -> None:
    evaluation = evaluate(sample=healthy())
    assert evaluation.failed_rules == ()
    assert evaluation.due_actions == ()
    assert evaluation.next_action is None
    assert evaluation.failing_since is None
    assert [r.outcome for r in evaluation.policies[0].rules] == [RuleOutcome.PASSED, RuleOutcome.PASSED]


def test_an_enrolled_device_without_a_sample_is_not_evaluated_per_policy() -> None:
    evaluation = evaluate(sample=None)
    assert [p.state for p in evaluation.policies] == [S.NOT_EVALUATED]
    assert "no posture sample received yet" in " ".join(evaluation.explanation)


# --- no policy, validity period, enrolment -----------------------------------------------------


def test_a_device_without_policy_is_not_applicable_and_counts_as_compliant_by_default() -> None:
    evaluation = evaluate(sample=None, policies=[])
    assert evaluation.state is S.NOT_APPLICABLE
    assert evaluation.is_compliant
    assert "treated as compliant" in " ".join(evaluation.explanation)


def test_secure_by_default_makes_a_device_without_policy_noncompliant() -> None:
    evaluation = evaluate(sample=healthy(), policies=[], settings=ComplianceSettings(secure_by_default=True))
    assert evaluation.state is S.NONCOMPLIANT
    assert [r.rule_type for _, r in evaluation.failed_rules] == ["hasCompliancePolicyAssigned"]


@pytest.mark.parametrize(
    ("last_seen_ago", "validity_days", "state"),
    [
        (29 * DAY + 23 * HOUR, 30, S.COMPLIANT),
        (30 * DAY, 30, S.NONCOMPLIANT),
        (45 * DAY, 30, S.NONCOMPLIANT),
        (23 * HOUR, 1, S.COMPLIANT),
        (25 * HOUR, 1, S.NONCOMPLIANT),
        (119 * DAY, 120, S.COMPLIANT),
    ],
)
def test_device_not_seen_within_validity_period_is_noncompliant(
    last_seen_ago: dt.timedelta, validity_days: int, state: ComplianceState
) -> None:
    device = make_device(last_seen_at=NOW - last_seen_ago, enrolled_at=NOW - 200 * DAY)
    evaluation = evaluate(
        device=device, sample=healthy(), settings=ComplianceSettings(validity_period_days=validity_days)
    )
    assert evaluation.state is state
    assert evaluation.valid_until == NOW - last_seen_ago + validity_days * DAY


def test_a_stale_device_is_noncompliant_even_without_any_policy() -> None:
    device = make_device(last_seen_at=NOW - 31 * DAY)
    evaluation = evaluate(device=device, sample=None, policies=[])
    assert evaluation.state is S.NONCOMPLIANT
    failed = [r for _, r in evaluation.failed_rules]
    assert [r.rule_type for r in failed] == ["isActive"]
    assert "30-day compliance validity period ended" in failed[0].explanation


def test_a_device_never_seen_counts_from_its_enrolment() -> None:
    device = make_device(last_seen_at=None, enrolled_at=NOW - 31 * DAY)
    assert evaluate(device=device, sample=None).state is S.NONCOMPLIANT


@pytest.mark.parametrize("status", [EnrollmentStatus.UNENROLLED, EnrollmentStatus.WIPED])
def test_unenrolled_and_wiped_devices_are_not_compliant(status: EnrollmentStatus) -> None:
    evaluation = evaluate(device=make_device(enrollment_status=status), sample=healthy())
    assert evaluation.state is S.NONCOMPLIANT
    assert not evaluation.is_compliant
    assert evaluation.policies == ()
    assert evaluation.due_actions == ()
    assert f"the device is {status.value}" in " ".join(evaluation.explanation)


# --- grace period and escalation ---------------------------------------------------------------


def test_a_failing_policy_notifies_at_once_and_starts_the_grace_period() -> None:
    evaluation = evaluate(sample=OLD_OS)
    policy = evaluation.policies[0]
    assert evaluation.state is S.IN_GRACE_PERIOD
    assert [a.key for a in evaluation.due_actions] == ["notification@0h"]
    assert evaluation.due_actions[0].due_at == NOW
    assert policy.failing_since == NOW
    assert policy.grace_period_ends_at == NOW + 72 * HOUR
    assert evaluation.next_action is not None
    assert (evaluation.next_action.key, evaluation.next_action.due_at) == (
        "notification@48h",
        NOW + 48 * HOUR,
    )
    assert [r.rule_type for r in policy.failed_rules] == ["osMinimumVersion"]


def test_grace_period_counts_as_compliant_until_it_ends() -> None:
    timeline = [
        (0 * HOUR, S.IN_GRACE_PERIOD, ["notification@0h"]),
        (47 * HOUR, S.IN_GRACE_PERIOD, []),
        (48 * HOUR, S.IN_GRACE_PERIOD, ["notification@48h"]),
        (71 * HOUR, S.IN_GRACE_PERIOD, []),
        (72 * HOUR, S.NONCOMPLIANT, ["block@72h"]),
        (100 * HOUR, S.NONCOMPLIANT, []),
    ]
    previous: ComplianceEvaluation | None = None
    for offset, state, due in timeline:
        now = NOW + offset
        evaluation = evaluate(sample=OLD_OS, previous=previous, now=now)
        assert evaluation.state is state, offset
        assert evaluation.is_compliant is (state is S.IN_GRACE_PERIOD), offset
        assert [a.key for a in evaluation.due_actions] == due, offset
        assert evaluation.failing_since == NOW, offset
        previous = evaluation


def test_reminders_and_the_block_action_each_fire_exactly_once() -> None:
    first = evaluate(sample=OLD_OS)
    again = evaluate(sample=OLD_OS, previous=first)
    assert [a.key for a in first.due_actions] == ["notification@0h"]
    assert again.due_actions == ()
    assert again.policies[0].fired_actions == {"notification@0h"}


def test_every_overdue_action_fires_when_the_evaluation_comes_late() -> None:
    first = evaluate(sample=OLD_OS)
    late = evaluate(sample=OLD_OS, previous=first, now=NOW + 80 * HOUR)
    assert [a.key for a in late.due_actions] == ["notification@48h", "block@72h"]
    assert late.state is S.NONCOMPLIANT
    assert late.next_action is None


def test_the_next_action_says_what_happens_next_and_when() -> None:
    evaluation = evaluate(sample=OLD_OS, previous=evaluate(sample=OLD_OS), now=NOW + 50 * HOUR)
    assert evaluation.next_action is not None
    assert evaluation.next_action.action.action_type.value == "block"
    assert evaluation.next_action.due_at == NOW + 72 * HOUR
    assert "next: block at 2024-06-04T12:00:00Z (iOS baseline)" in evaluation.explanation


def test_failing_since_is_carried_per_policy_and_per_rule() -> None:
    first = evaluate(sample=OLD_OS)
    later = NOW + 10 * HOUR
    second = evaluate(sample={**OLD_OS, **NO_PASSCODE}, previous=first, now=later)
    rules = {r.rule_type: r.failing_since for r in second.policies[0].rules}
    assert rules == {"osMinimumVersion": NOW, "passcodeRequired": later}
    assert second.policies[0].failing_since == NOW
    assert second.due_actions == ()


def test_passing_again_ends_the_failure_episode() -> None:
    failing = evaluate(sample=OLD_OS)
    fixed = evaluate(sample=healthy(), previous=failing, now=NOW + HOUR)
    failing_again = evaluate(sample=OLD_OS, previous=fixed, now=NOW + 2 * HOUR)
    assert fixed.state is S.COMPLIANT
    assert fixed.policies[0].fired_actions == frozenset()
    assert failing_again.failing_since == NOW + 2 * HOUR
    assert [a.key for a in failing_again.due_actions] == ["notification@0h"]


def test_an_unreadable_rule_keeps_the_failure_clock_without_firing_actions() -> None:
    failing = evaluate(sample=OLD_OS)
    unreadable = evaluate(sample={"os_version": None}, previous=failing, now=NOW + 60 * HOUR)
    failing_again = evaluate(sample=OLD_OS, previous=unreadable, now=NOW + 61 * HOUR)
    assert unreadable.state is S.ERROR
    assert unreadable.due_actions == ()
    assert failing_again.failing_since == NOW
    assert [a.key for a in failing_again.due_actions] == ["notification@48h"]


# --- combining policies ------------------------------------------------------------------------

WINDOWS_ONLY = make_policy(Platform.WINDOWS, rules=[{"type": "bitLockerEnabled"}])
NO_GRACE = make_policy(rules=[{"type": "passcodeRequired"}], id="pol-strict", displayName="Strict")


@pytest.mark.parametrize(
    ("sample", "policies", "state"),
    [
        ({}, [BASELINE, NO_GRACE], S.COMPLIANT),
        (OLD_OS, [BASELINE, NO_GRACE], S.IN_GRACE_PERIOD),
        ({**OLD_OS, **NO_PASSCODE}, [BASELINE, NO_GRACE], S.NONCOMPLIANT),
        ({"passcode_present": None, **OLD_OS}, [BASELINE, NO_GRACE], S.ERROR),
    ],
)
def test_the_most_severe_policy_state_wins(
    sample: dict[str, Any], policies: list[CompliancePolicy], state: ComplianceState
) -> None:
    assert evaluate(sample=sample, policies=policies).state is state


def test_policies_of_another_platform_are_ignored() -> None:
    evaluation = evaluate(sample=healthy(), policies=[WINDOWS_ONLY])
    assert evaluation.state is S.NOT_APPLICABLE
    assert evaluation.policies == ()


def test_an_ipad_is_evaluated_by_the_ios_policy() -> None:
    device = make_device(Platform.IPADOS)
    evaluation = evaluate(device=device, sample=make_sample(Platform.IPADOS, **NO_PASSCODE))
    assert evaluation.state is S.IN_GRACE_PERIOD
    assert evaluation.policies[0].policy_id == BASELINE.id


@pytest.mark.parametrize(
    ("sample", "state"),
    [({}, S.COMPLIANT), (OLD_OS, S.COMPLIANT), ({**OLD_OS, **NO_PASSCODE}, S.NONCOMPLIANT)],
)
def test_a_policy_failing_only_when_all_rules_fail(sample: dict[str, Any], state: ComplianceState) -> None:
    policy = make_policy(
        rules=[{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
        failWhen="allRulesFail",
    )
    assert evaluate(sample=sample, policies=[policy]).state is state


# --- transitions, timing, persistence ----------------------------------------------------------


def test_the_first_evaluation_is_a_transition() -> None:
    evaluation = evaluate(sample=healthy())
    assert evaluation.previous_state is None
    assert evaluation.changed


def test_only_a_change_of_state_is_a_transition() -> None:
    first = evaluate(sample=OLD_OS)
    same = evaluate(sample=OLD_OS, previous=first, now=NOW + HOUR)
    blocked = evaluate(sample=OLD_OS, previous=same, now=NOW + 72 * HOUR)
    assert not same.changed
    assert blocked.changed
    assert (blocked.previous_state, blocked.state) == (S.IN_GRACE_PERIOD, S.NONCOMPLIANT)


def test_the_next_evaluation_time_is_the_earliest_time_the_verdict_can_change() -> None:
    policy = make_policy(rules=[{"type": "deviceLastSeen", "maximumHours": 24}])
    device = make_device(last_seen_at=NOW - HOUR)
    assert evaluate(device=device, sample=healthy(), policies=[policy]).next_evaluation_at == NOW + 23 * HOUR
    assert evaluate(device=device, sample=healthy()).next_evaluation_at == NOW - HOUR + 30 * DAY
    assert evaluate(device=device, sample=OLD_OS).next_evaluation_at == NOW + 48 * HOUR


def test_a_last_seen_rule_turns_noncompliant_without_a_new_sample() -> None:
    policy = make_policy(rules=[{"type": "deviceLastSeen", "maximumHours": 24}])
    device = make_device(last_seen_at=NOW - HOUR)
    first = evaluate(device=device, sample=healthy(), policies=[policy])
    assert first.next_evaluation_at is not None
    later = evaluate(device=device, sample=healthy(), policies=[policy], previous=first, now=first.next_evaluation_at)
    assert later.state is S.NONCOMPLIANT
    assert later.changed


def test_the_prior_evaluation_round_trips_through_its_dict() -> None:
    evaluation = evaluate(sample={**OLD_OS, **NO_PASSCODE}, previous=evaluate(sample=OLD_OS), now=NOW + 49 * HOUR)
    prior = evaluation.to_prior()
    assert PriorEvaluation.from_dict(prior.to_dict()) == prior
    assert set(prior.policies) == {DEFAULT_POLICY_ID, BASELINE.id}
    assert prior.policies[BASELINE.id].fired_actions == {"notification@0h", "notification@48h"}


def test_an_evaluation_explains_itself() -> None:
    evaluation = evaluate(sample=OLD_OS)
    assert evaluation.explanation == (
        "inGracePeriod (isCompliant=true)",
        "iOS baseline: OS version 16.7 is older than the minimum 17.0 since 2024-06-01T12:00:00Z",
        "iOS baseline: in grace period until 2024-06-04T12:00:00Z",
        "iOS baseline: notification is due now",
        "next: notification at 2024-06-03T12:00:00Z (iOS baseline)",
    )


def test_an_evaluation_serialises_with_wire_names() -> None:
    document = evaluate(sample=OLD_OS).to_dict()
    assert document["complianceState"] == "inGracePeriod"
    assert document["isCompliant"] is True
    assert document["changed"] is True
    assert document["failingSince"] == "2024-06-01T12:00:00Z"
    policies = document["policies"]
    assert isinstance(policies, list)
    assert [p["policyId"] for p in policies if isinstance(p, dict)] == [DEFAULT_POLICY_ID, BASELINE.id]
    due = document["dueActions"]
    assert isinstance(due, list) and isinstance(due[0], dict)
    assert due[0]["actionType"] == "notification"


def test_evaluation_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(sample=healthy(), now=dt.datetime(2024, 6, 1, 12))
