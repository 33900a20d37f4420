"""Compliance evaluation: one device, its latest sample, its policies and the previous evaluation in;
an explained verdict out.

The verdict follows Intune:

- a built-in *Default Device Compliance Policy* checks that the device is enrolled, that it was seen
  within the validity period (``isActive``, fail closed) and that a policy is assigned (a device
  without one is ``notApplicable``, or ``noncompliant`` when ``secureByDefault`` is on);
- each assigned policy of the device's platform is ``notEvaluated`` until a sample arrives, then
  ``compliant``, ``inGracePeriod`` (failing, but its ``block`` action is not yet due; counts as
  compliant), ``noncompliant`` or ``error`` (a rule could not be checked);
- the device state is the most severe of these (``ComplianceState.severity``).

Continuity comes from ``PriorEvaluation``: when each policy and rule started failing, and which
scheduled actions already fired in the current failure episode. An action is returned in
``due_actions`` exactly once per episode; a passing policy ends the episode. The caller stores
``evaluation.to_prior()`` next to the device, in the same transaction as the change-feed row when
``evaluation.changed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .device import Device
from .policy import CompliancePolicy, ScheduledAction
from .rules import RuleCheck, RuleContext
from .sample import PostureSample
from .settings import ComplianceSettings
from .types import ActionKey, DeviceId, JsonObject, JsonValue, PolicyId, RuleTypeName
from .vocabulary import ComplianceState, FailWhen, RuleOutcome
from .wire import Fields, format_timestamp, json_list, parse_timestamp, require_aware

DEFAULT_POLICY_ID: PolicyId = "defaultDeviceCompliancePolicy"
DEFAULT_POLICY_NAME = "Default Device Compliance Policy"


# --- what the caller keeps between evaluations -------------------------------------------------


@dataclass(frozen=True)
class PriorPolicyState:
    """One policy's failure episode as the previous evaluation left it."""

    failing_since: dt.datetime | None = None
    rules_failing_since: Mapping[RuleTypeName, dt.datetime] = field(default_factory=dict)
    fired_actions: frozenset[ActionKey] = field(default_factory=frozenset)

    def to_dict(self) -> JsonObject:
        rules: dict[str, JsonValue] = {k: format_timestamp(v) for k, v in sorted(self.rules_failing_since.items())}
        return {
            "failingSince": format_timestamp(self.failing_since) if self.failing_since else None,
            "rulesFailingSince": rules,
            "firedActions": json_list(self.fired_actions),
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> PriorPolicyState:
        fields = Fields(data, path)
        rules: dict[RuleTypeName, dt.datetime] = {}
        for name, item_path, item in fields.entries("rulesFailingSince"):
            rules[name] = parse_timestamp(item, item_path)
        state = cls(
            failing_since=fields.optional_timestamp("failingSince"),
            rules_failing_since=rules,
            fired_actions=frozenset(fields.text_list("firedActions")),
        )
        fields.reject_unknown()
        return state


@dataclass(frozen=True)
class PriorEvaluation:
    state: ComplianceState
    evaluated_at: dt.datetime
    policies: Mapping[PolicyId, PriorPolicyState] = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        policies: dict[str, JsonValue] = {k: v.to_dict() for k, v in sorted(self.policies.items())}
        return {
            "state": self.state.value,
            "evaluatedDateTime": format_timestamp(self.evaluated_at),
            "policies": policies,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PriorEvaluation:
        fields = Fields(data)
        state = fields.enum("state", ComplianceState)
        evaluated_at = fields.timestamp("evaluatedDateTime")
        policies = {
            name: PriorPolicyState.from_dict(item, item_path) for name, item_path, item in fields.entries("policies")
        }
        fields.reject_unknown()
        return cls(state, evaluated_at, policies)


# --- the explained verdict ---------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    rule_type: RuleTypeName
    requirement: str
    outcome: RuleOutcome
    explanation: str
    failing_since: dt.datetime | None = None
    changes_at: dt.datetime | None = None

    def to_dict(self) -> JsonObject:
        return {
            "ruleType": self.rule_type,
            "requirement": self.requirement,
            "outcome": self.outcome.value,
            "explanation": self.explanation,
            "failingSince": _ts(self.failing_since),
            "changesDateTime": _ts(self.changes_at),
        }


@dataclass(frozen=True)
class PlannedAction:
    """A scheduled action of one policy at a point in time: due now, or the next to come."""

    policy_id: PolicyId
    policy_name: str
    action: ScheduledAction
    due_at: dt.datetime

    @property
    def key(self) -> ActionKey:
        return self.action.key

    def to_dict(self) -> JsonObject:
        return {
            "policyId": self.policy_id,
            "policyName": self.policy_name,
            "actionType": self.action.action_type.value,
            "gracePeriodHours": self.action.grace_period_hours,
            "key": self.key,
            "dueDateTime": format_timestamp(self.due_at),
        }


@dataclass(frozen=True)
class PolicyResult:
    policy_id: PolicyId
    display_name: str
    state: ComplianceState
    rules: tuple[RuleResult, ...] = ()
    failing_since: dt.datetime | None = None
    grace_period_ends_at: dt.datetime | None = None
    due_actions: tuple[PlannedAction, ...] = ()
    next_action: PlannedAction | None = None
    fired_actions: frozenset[ActionKey] = field(default_factory=frozenset)
    """Every action fired in the current failure episode, including ``due_actions``."""

    @property
    def failed_rules(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.outcome is RuleOutcome.FAILED)

    @property
    def errored_rules(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.outcome is RuleOutcome.ERROR)

    def to_prior(self) -> PriorPolicyState:
        return PriorPolicyState(
            failing_since=self.failing_since,
            rules_failing_since={r.rule_type: r.failing_since for r in self.rules if r.failing_since},
            fired_actions=self.fired_actions,
        )

    def to_dict(self) -> JsonObject:
        rules: list[JsonValue] = [r.to_dict() for r in self.rules]
        due: list[JsonValue] = [a.to_dict() for a in self.due_actions]
        return {
            "policyId": self.policy_id,
            "displayName": self.display_name,
            "state": self.state.value,
            "failingSince": _ts(self.failing_since),
            "gracePeriodEndsDateTime": _ts(self.grace_period_ends_at),
            "rules": rules,
            "dueActions": due,
            "nextAction": self.next_action.to_dict() if self.next_action else None,
        }


@dataclass(frozen=True)
class ComplianceEvaluation:
    device_id: DeviceId
    evaluated_at: dt.datetime
    state: ComplianceState
    previous_state: ComplianceState | None
    default_policy: PolicyResult
    policies: tuple[PolicyResult, ...]
    valid_until: dt.datetime
    """The first instant at which the device counts as not seen within the validity period."""
    due_actions: tuple[PlannedAction, ...] = ()
    """Actions to carry out now (notify, mark noncompliant…); each appears in one evaluation only."""
    next_action: PlannedAction | None = None
    failing_since: dt.datetime | None = None
    next_evaluation_at: dt.datetime | None = None
    """When the verdict may change without a new sample (grace end, next action, validity, rules)."""

    @property
    def is_compliant(self) -> bool:
        """The value for Entra's ``isCompliant``."""
        return self.state.counts_as_compliant

    @property
    def changed(self) -> bool:
        """Whether this evaluation is a transition to record in the change feed."""
        return self.previous_state is not self.state

    @property
    def all_policies(self) -> tuple[PolicyResult, ...]:
        return (self.default_policy, *self.policies)

    @property
    def failed_rules(self) -> tuple[tuple[PolicyResult, RuleResult], ...]:
        return tuple((p, r) for p in self.all_policies for r in p.failed_rules)

    @property
    def explanation(self) -> tuple[str, ...]:
        """The verdict in sentences, most important first."""
        lines = [f"{self.state.value} (isCompliant={str(self.is_compliant).lower()})"]
        for policy in self.all_policies:
            for rule in (*policy.failed_rules, *policy.errored_rules):
                since = f" since {format_timestamp(rule.failing_since)}" if rule.failing_since else ""
                lines.append(f"{policy.display_name}: {rule.explanation}{since}")
            if policy.state is ComplianceState.IN_GRACE_PERIOD and policy.grace_period_ends_at:
                ends = format_timestamp(policy.grace_period_ends_at)
                lines.append(f"{policy.display_name}: in grace period until {ends}")
            if policy.state is ComplianceState.NOT_EVALUATED:
                lines.append(f"{policy.display_name}: no posture sample received yet")
        if self.state is ComplianceState.NOT_APPLICABLE:
            lines.extend(r.explanation for r in self.default_policy.rules if r.rule_type == _HAS_POLICY)
        for action in self.due_actions:
            lines.append(f"{action.policy_name}: {action.action.action_type.value} is due now")
        if self.next_action is not None:
            action = self.next_action
            lines.append(
                f"next: {action.action.action_type.value} at {format_timestamp(action.due_at)} ({action.policy_name})"
            )
        return tuple(lines)

    def to_prior(self) -> PriorEvaluation:
        return PriorEvaluation(
            state=self.state,
            evaluated_at=self.evaluated_at,
            policies={p.policy_id: p.to_prior() for p in self.all_policies},
        )

    def to_dict(self) -> JsonObject:
        policies: list[JsonValue] = [p.to_dict() for p in self.all_policies]
        due: list[JsonValue] = [a.to_dict() for a in self.due_actions]
        explanation: list[JsonValue] = list(self.explanation)
        return {
            "deviceId": self.device_id,
            "evaluatedDateTime": format_timestamp(self.evaluated_at),
            "complianceState": self.state.value,
            "previousComplianceState": self.previous_state.value if self.previous_state else None,
            "isCompliant": self.is_compliant,
            "changed": self.changed,
            "failingSince": _ts(self.failing_since),
            "validUntil": format_timestamp(self.valid_until),
            "nextEvaluationDateTime": _ts(self.next_evaluation_at),
            "policies": policies,
            "dueActions": due,
            "nextAction": self.next_action.to_dict() if self.next_action else None,
            "explanation": explanation,
        }


def _ts(value: dt.datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


# --- the evaluation ----------------------------------------------------------------------------

_IS_ENROLLED = "isEnrolled"
_IS_ACTIVE = "isActive"
_HAS_POLICY = "hasCompliancePolicyAssigned"


def evaluate_compliance(
    device: Device,
    latest_sample: PostureSample | None,
    policies_assigned: Sequence[CompliancePolicy],
    previous: PriorEvaluation | None,
    settings: ComplianceSettings,
    now: dt.datetime,
) -> ComplianceEvaluation:
    """Judge ``device`` at ``now``. Policies of another platform in ``policies_assigned`` are ignored."""
    require_aware(now, "now")
    prior_policies: Mapping[PolicyId, PriorPolicyState] = previous.policies if previous else {}
    applicable = tuple(p for p in policies_assigned if p.applies_to(device.platform))
    valid_until = device.last_contact + settings.validity_period

    default = _default_policy(device, applicable, settings, valid_until, prior_policies.get(DEFAULT_POLICY_ID), now)
    results: tuple[PolicyResult, ...] = ()
    if device.is_enrolled:
        context = RuleContext(device, latest_sample, now) if latest_sample is not None else None
        results = tuple(_evaluate_policy(p, context, prior_policies.get(p.id), now) for p in applicable)

    every = (default, *results)
    state = max((r.state for r in every), key=lambda s: s.severity)
    due = tuple(a for r in results for a in r.due_actions)
    upcoming = [r.next_action for r in results if r.next_action is not None]
    next_action = min(upcoming, key=lambda a: a.due_at) if upcoming else None
    return ComplianceEvaluation(
        device_id=device.id,
        evaluated_at=now,
        state=state,
        previous_state=previous.state if previous else None,
        default_policy=default,
        policies=results,
        valid_until=valid_until,
        due_actions=due,
        next_action=next_action,
        failing_since=_earliest(r.failing_since for r in every),
        next_evaluation_at=_earliest(
            t
            for r in every
            for t in (
                r.next_action.due_at if r.next_action else None,
                *(rule.changes_at for rule in r.rules),
            )
            if t is not None and t > now
        ),
    )


def _default_policy(
    device: Device,
    applicable: Sequence[CompliancePolicy],
    settings: ComplianceSettings,
    valid_until: dt.datetime,
    prior: PriorPolicyState | None,
    now: dt.datetime,
) -> PolicyResult:
    """Intune's built-in policy: enrolled, active within the validity period, a policy assigned."""
    status = device.enrollment_status.value
    enrolled = (
        RuleCheck.passed("the device is enrolled")
        if device.is_enrolled
        else RuleCheck.failed(f"the device is {status}, so it cannot be compliant")
    )
    last_seen = format_timestamp(device.last_contact)
    days = settings.validity_period_days
    active = (
        RuleCheck.passed(
            f"last seen {last_seen}, within the {days}-day compliance validity period", changes_at=valid_until
        )
        if now < valid_until
        else RuleCheck.failed(
            f"not seen since {last_seen}: the {days}-day compliance validity period ended "
            f"{format_timestamp(valid_until)}"
        )
    )
    if applicable:
        count = len(applicable)
        assigned = RuleCheck.passed(f"{count} compliance {'policy' if count == 1 else 'policies'} assigned")
    elif settings.secure_by_default:
        assigned = RuleCheck.failed("no compliance policy is assigned and secureByDefault is on")
    else:
        assigned = RuleCheck.passed("no compliance policy is assigned; treated as compliant (secureByDefault is off)")
    checks = (
        (_IS_ENROLLED, "the device is enrolled", enrolled),
        (_IS_ACTIVE, f"the device was seen within {days} days", active),
        (_HAS_POLICY, "a compliance policy is assigned", assigned),
    )
    rules = tuple(_rule_result(name, requirement, check, prior, now) for name, requirement, check in checks)
    result = _result(DEFAULT_POLICY_ID, DEFAULT_POLICY_NAME, rules, FailWhen.ANY_RULE_FAILS, (), None, prior, now)
    if result.state is ComplianceState.COMPLIANT and not applicable:
        return replace(result, state=ComplianceState.NOT_APPLICABLE)
    return result


def _evaluate_policy(
    policy: CompliancePolicy,
    context: RuleContext | None,
    prior: PriorPolicyState | None,
    now: dt.datetime,
) -> PolicyResult:
    if context is None:
        return PolicyResult(policy.id, policy.display_name, ComplianceState.NOT_EVALUATED)
    rules = tuple(
        _rule_result(rule.rule_type, rule.requirement, rule.check(context), prior, now) for rule in policy.rules
    )
    return _result(
        policy.id,
        policy.display_name,
        rules,
        policy.fail_when,
        policy.scheduled_actions,
        policy.grace_period,
        prior,
        now,
    )


def _rule_result(
    rule_type: RuleTypeName,
    requirement: str,
    check: RuleCheck,
    prior: PriorPolicyState | None,
    now: dt.datetime,
) -> RuleResult:
    since = None
    if check.outcome is RuleOutcome.FAILED:
        since = prior.rules_failing_since.get(rule_type, now) if prior else now
    return RuleResult(rule_type, requirement, check.outcome, check.explanation, since, check.changes_at)


def _verdict(fail_when: FailWhen, outcomes: Sequence[RuleOutcome]) -> RuleOutcome:
    """Whether the policy as a whole passes, fails, or cannot tell because rules could not be checked."""
    if fail_when is FailWhen.ANY_RULE_FAILS:
        if RuleOutcome.FAILED in outcomes:
            return RuleOutcome.FAILED
        return RuleOutcome.ERROR if RuleOutcome.ERROR in outcomes else RuleOutcome.PASSED
    if RuleOutcome.PASSED in outcomes:
        return RuleOutcome.PASSED
    return RuleOutcome.ERROR if RuleOutcome.ERROR in outcomes else RuleOutcome.FAILED


def _result(
    policy_id: PolicyId,
    name: str,
    rules: tuple[RuleResult, ...],
    fail_when: FailWhen,
    schedule: tuple[ScheduledAction, ...],
    grace_period: dt.timedelta | None,
    prior: PriorPolicyState | None,
    now: dt.datetime,
) -> PolicyResult:
    prior = prior or PriorPolicyState()
    verdict = _verdict(fail_when, [r.outcome for r in rules])
    if verdict is RuleOutcome.PASSED:
        return PolicyResult(policy_id, name, ComplianceState.COMPLIANT, rules)
    if verdict is RuleOutcome.ERROR:
        # Missing data neither starts nor ends a failure episode: keep its clock and fired actions.
        return PolicyResult(
            policy_id,
            name,
            ComplianceState.ERROR,
            rules,
            prior.failing_since,
            fired_actions=prior.fired_actions,
        )
    failing_since = prior.failing_since or now
    fired = set(prior.fired_actions)
    due: list[PlannedAction] = []
    next_action: PlannedAction | None = None
    for action in schedule:
        planned = PlannedAction(policy_id, name, action, failing_since + action.delay)
        if planned.due_at <= now:
            if action.key not in fired:
                due.append(planned)
                fired.add(action.key)
        elif next_action is None:
            next_action = planned
    grace_ends = failing_since + grace_period if grace_period is not None else None
    in_grace = grace_ends is not None and now < grace_ends
    return PolicyResult(
        policy_id,
        name,
        ComplianceState.IN_GRACE_PERIOD if in_grace else ComplianceState.NONCOMPLIANT,
        rules,
        failing_since,
        grace_ends,
        tuple(due),
        next_action,
        frozenset(fired),
    )


def _earliest(values: Iterable[dt.datetime | None]) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None
