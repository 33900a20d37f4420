"""Compliance policies: one platform, a list of rules, an escalation schedule, and an assignment.

A policy is valid by construction: building one (directly or with ``from_dict``) refuses rules of
another platform, duplicate rule types, and schedules without exactly one ``block`` action ("Mark
device noncompliant"; Graph: "Compliance policy must have one and only one block scheduled action",
https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancescheduledactionforrule).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .errors import FieldError, ValidationError
from .rules import RULE_TYPES, ComplianceRule, RuleRegistry, platform_mismatch
from .types import ActionKey, GroupId, JsonObject, JsonValue, PolicyId, RuleTypeName
from .vocabulary import ActionType, FailWhen, Platform
from .wire import Fields, Problems, json_list

MAX_GRACE_PERIOD_HOURS = 365 * 24
"""Intune schedules actions 0–365 days after noncompliance."""


@dataclass(frozen=True)
class ScheduledAction:
    """An action taken ``grace_period_hours`` after the policy started failing (Graph
    ``deviceComplianceActionItem``). Notifications after the first act as reminders."""

    action_type: ActionType
    grace_period_hours: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.grace_period_hours <= MAX_GRACE_PERIOD_HOURS:
            raise ValueError(f"grace_period_hours must be between 0 and {MAX_GRACE_PERIOD_HOURS}")

    @property
    def key(self) -> ActionKey:
        """Identifies the action within its policy; the caller records fired actions by it."""
        return f"{self.action_type.value}@{self.grace_period_hours}h"

    @property
    def delay(self) -> dt.timedelta:
        return dt.timedelta(hours=self.grace_period_hours)

    def to_dict(self) -> JsonObject:
        return {"actionType": self.action_type.value, "gracePeriodHours": self.grace_period_hours}

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> ScheduledAction:
        fields = Fields(data, path)
        action = cls(
            fields.enum("actionType", ActionType),
            fields.integer("gracePeriodHours", minimum=0, maximum=MAX_GRACE_PERIOD_HOURS, default=0),
        )
        fields.reject_unknown()
        return action


DEFAULT_SCHEDULE: tuple[ScheduledAction, ...] = (ScheduledAction(ActionType.BLOCK, 0),)


@dataclass(frozen=True)
class Assignment:
    """Who gets the policy: directory groups or smart groups by id; an exclusion always wins."""

    include_groups: frozenset[GroupId] = field(default_factory=frozenset)
    exclude_groups: frozenset[GroupId] = field(default_factory=frozenset)
    all_devices: bool = False

    def to_dict(self) -> JsonObject:
        return {
            "includeGroups": json_list(self.include_groups),
            "excludeGroups": json_list(self.exclude_groups),
            "allDevices": self.all_devices,
        }

    @classmethod
    def from_fields(cls, fields: Fields) -> Assignment:
        assignment = cls(
            include_groups=frozenset(fields.text_list("includeGroups")),
            exclude_groups=frozenset(fields.text_list("excludeGroups")),
            all_devices=fields.boolean("allDevices", default=False),
        )
        fields.reject_unknown()
        return assignment


@dataclass(frozen=True)
class CompliancePolicy:
    id: PolicyId
    display_name: str
    platform: Platform
    rules: tuple[ComplianceRule, ...]
    scheduled_actions: tuple[ScheduledAction, ...] = DEFAULT_SCHEDULE
    """Kept sorted by grace period, so escalation order is reading order."""
    assignment: Assignment = field(default_factory=Assignment)
    description: str = ""
    fail_when: FailWhen = FailWhen.ANY_RULE_FAILS

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        ordered = tuple(sorted(self.scheduled_actions, key=lambda a: a.grace_period_hours))
        object.__setattr__(self, "scheduled_actions", ordered)
        errors = _policy_errors(self)
        if errors:
            raise ValidationError(errors)

    @property
    def block_action(self) -> ScheduledAction:
        """ "Mark device noncompliant": until it is due the failing device is ``inGracePeriod``."""
        return next(a for a in self.scheduled_actions if a.action_type is ActionType.BLOCK)

    @property
    def grace_period(self) -> dt.timedelta:
        return self.block_action.delay

    def applies_to(self, platform: Platform) -> bool:
        """A policy covers its own platform, and an iOS policy covers iPadOS too."""
        return platform is self.platform or platform.compliance_family is self.platform

    def rule(self, rule_type: RuleTypeName) -> ComplianceRule | None:
        return next((r for r in self.rules if r.rule_type == rule_type), None)

    @classmethod
    def from_dict(cls, data: Any, registry: RuleRegistry = RULE_TYPES) -> CompliancePolicy:
        """Build a policy from its REST form; ``ValidationError`` lists every field at fault."""
        fields = Fields(data)
        problems = Problems()
        policy_id = problems.collect(lambda: fields.text("id", max_length=128))
        name = problems.collect(lambda: fields.text("displayName"))
        description = problems.collect(lambda: fields.optional_text("description", max_length=1024, allow_empty=True))
        platform = problems.collect(lambda: fields.enum("platform", Platform))
        fail_when = problems.collect(lambda: fields.enum("failWhen", FailWhen, default=FailWhen.ANY_RULE_FAILS))
        rules: list[ComplianceRule] = []
        raw_rules = problems.collect(lambda: list(fields.objects("rules", required=True))) or []
        for path, item in raw_rules:
            if platform is None:
                continue  # rules cannot be read without knowing the platform; that error is reported
            rule = problems.collect(partial(registry.parse, item, platform, path))
            if rule is not None:
                rules.append(rule)
        actions: list[ScheduledAction] = []
        raw_actions = problems.collect(lambda: list(fields.objects("scheduledActions"))) or []
        for path, item in raw_actions:
            action = problems.collect(partial(ScheduledAction.from_dict, item, path))
            if action is not None:
                actions.append(action)
        assignment_fields = problems.collect(lambda: fields.nested("assignment"))
        assignment = (
            problems.collect(lambda: Assignment.from_fields(assignment_fields))
            if assignment_fields is not None
            else Assignment()
        )
        problems.collect(fields.reject_unknown)
        problems.raise_if_any()
        assert policy_id and name and platform and fail_when and assignment
        return cls(
            id=policy_id,
            display_name=name,
            platform=platform,
            rules=tuple(rules),
            scheduled_actions=tuple(actions) if raw_actions else DEFAULT_SCHEDULE,
            assignment=assignment,
            description=description or "",
            fail_when=fail_when,
        )

    def to_dict(self) -> JsonObject:
        rules: list[JsonValue] = [r.to_dict() for r in self.rules]
        actions: list[JsonValue] = [a.to_dict() for a in self.scheduled_actions]
        return {
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "platform": self.platform.value,
            "failWhen": self.fail_when.value,
            "rules": rules,
            "scheduledActions": actions,
            "assignment": self.assignment.to_dict(),
        }


def _policy_errors(policy: CompliancePolicy) -> list[FieldError]:
    errors: list[FieldError] = []
    if not policy.id.strip():
        errors.append(FieldError("id", "must not be empty"))
    if not policy.display_name.strip():
        errors.append(FieldError("displayName", "must not be empty"))
    if not policy.rules:
        errors.append(FieldError("rules", "a policy needs at least one rule"))
    first_index: dict[RuleTypeName, int] = {}
    for index, rule in enumerate(policy.rules):
        mismatch = platform_mismatch(type(rule), policy.platform)
        if mismatch is not None:
            errors.append(FieldError(f"rules[{index}].type", mismatch))
        if rule.rule_type in first_index:
            errors.append(
                FieldError(
                    f"rules[{index}].type",
                    f"{rule.rule_type} appears twice (first at rules[{first_index[rule.rule_type]}])",
                )
            )
        first_index.setdefault(rule.rule_type, index)
    blocks = sum(1 for a in policy.scheduled_actions if a.action_type is ActionType.BLOCK)
    if blocks != 1:
        errors.append(
            FieldError(
                "scheduledActions",
                f"must contain exactly one block action (mark device noncompliant), found {blocks}",
            )
        )
    keys = [a.key for a in policy.scheduled_actions]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        errors.append(FieldError("scheduledActions", f"{key} is scheduled twice"))
    return errors
