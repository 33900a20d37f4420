"""A table format for rule checks: one row per behaviour, shared by the per-module rule tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from posturebridge.mdm.domain import RULE_TYPES, Platform, RuleCheck, RuleContext, RuleOutcome

from ..factories import NOW, make_device, make_sample


@dataclass(frozen=True)
class RuleCase:
    id: str
    platform: Platform
    rule: dict[str, Any]
    expected: RuleOutcome
    says: str
    """A fragment the explanation must contain."""
    sample: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)


def run(case: RuleCase) -> RuleCheck:
    rule = RULE_TYPES.parse(case.rule, case.platform)
    context = RuleContext(make_device(case.platform, **case.device), make_sample(case.platform, **case.sample), NOW)
    return rule.check(context)


def assert_case(case: RuleCase) -> None:
    check = run(case)
    assert check.outcome is case.expected, check.explanation
    assert case.says in check.explanation
