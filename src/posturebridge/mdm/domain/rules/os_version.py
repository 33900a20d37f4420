"""OS version bounds: ``osMinimumVersion`` and ``osMaximumVersion`` (Intune's names), every platform.

Versions are parsed for the policy's platform, so an impossible bound is a policy validation error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ..types import JsonObject
from ..version import OsVersion
from ..vocabulary import Platform
from ..wire import Fields
from .base import ALL_PLATFORMS, RULE_TYPES, ComplianceRule, RuleCheck, RuleContext


@RULE_TYPES.register
@dataclass(frozen=True)
class OsMinimumVersion(ComplianceRule):
    rule_type = "osMinimumVersion"
    platforms = ALL_PLATFORMS

    version: OsVersion

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.os_version("version", platform))

    def params(self) -> JsonObject:
        return {"version": self.version.text}

    @property
    def requirement(self) -> str:
        return f"OS version {self.version} or later"

    def check(self, context: RuleContext) -> RuleCheck:
        reported = context.sample.os_version
        if reported is None:
            return RuleCheck.not_reported("osVersion")
        if reported >= self.version:
            return RuleCheck.passed(f"OS version {reported} meets the minimum {self.version}")
        return RuleCheck.failed(f"OS version {reported} is older than the minimum {self.version}")


@RULE_TYPES.register
@dataclass(frozen=True)
class OsMaximumVersion(ComplianceRule):
    rule_type = "osMaximumVersion"
    platforms = ALL_PLATFORMS

    version: OsVersion

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.os_version("version", platform))

    def params(self) -> JsonObject:
        return {"version": self.version.text}

    @property
    def requirement(self) -> str:
        return f"OS version {self.version} or earlier"

    def check(self, context: RuleContext) -> RuleCheck:
        reported = context.sample.os_version
        if reported is None:
            return RuleCheck.not_reported("osVersion")
        if reported <= self.version:
            return RuleCheck.passed(f"OS version {reported} is within the maximum {self.version}")
        return RuleCheck.failed(f"OS version {reported} is newer than the maximum allowed {self.version}")
