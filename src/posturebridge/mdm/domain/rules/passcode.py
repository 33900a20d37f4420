"""Passcode rules: ``passcodeRequired`` and ``passcodeComplexity``, every platform.

Complexity uses Android's none/low/medium/high scale for every platform; agents map their platform's
passcode policy onto it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ..types import JsonObject
from ..vocabulary import PasscodeComplexity, Platform
from ..wire import Fields
from .base import ALL_PLATFORMS, RULE_TYPES, ComplianceRule, ParameterlessRule, RuleCheck, RuleContext


@RULE_TYPES.register
@dataclass(frozen=True)
class PasscodeRequired(ParameterlessRule):
    rule_type = "passcodeRequired"
    platforms = ALL_PLATFORMS

    @property
    def requirement(self) -> str:
        return "a passcode is set"

    def check(self, context: RuleContext) -> RuleCheck:
        present = context.sample.passcode_present
        if present is None:
            return RuleCheck.not_reported("passcodePresent")
        if present:
            return RuleCheck.passed("a passcode is set")
        return RuleCheck.failed("no passcode is set")


@RULE_TYPES.register
@dataclass(frozen=True)
class PasscodeMinimumComplexity(ComplianceRule):
    rule_type = "passcodeComplexity"
    platforms = ALL_PLATFORMS

    minimum: PasscodeComplexity

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.enum("minimumComplexity", PasscodeComplexity))

    def params(self) -> JsonObject:
        return {"minimumComplexity": self.minimum.value}

    @property
    def requirement(self) -> str:
        return f"a passcode of {self.minimum} complexity or higher"

    def check(self, context: RuleContext) -> RuleCheck:
        sample = context.sample
        if sample.passcode_present is False:
            return RuleCheck.failed(f"no passcode is set; {self.minimum} complexity is required")
        complexity = sample.passcode_complexity
        if complexity is None:
            return RuleCheck.not_reported("passcodeComplexity")
        if complexity.rank >= self.minimum.rank:
            return RuleCheck.passed(f"passcode complexity {complexity} meets the minimum {self.minimum}")
        return RuleCheck.failed(f"passcode complexity {complexity} is below the minimum {self.minimum}")
