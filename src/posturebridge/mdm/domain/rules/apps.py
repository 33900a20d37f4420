"""Application list rules: ``restrictedApps`` (a blocklist: none may be installed) and ``requiredApps``
(all must be installed). Identifiers are bundle ids / package names, compared exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ..types import JsonObject
from ..vocabulary import Platform
from ..wire import Fields, json_list
from .base import ALL_PLATFORMS, RULE_TYPES, ComplianceRule, RuleCheck, RuleContext


def _listing(apps: frozenset[str]) -> str:
    return ", ".join(sorted(apps))


@RULE_TYPES.register
@dataclass(frozen=True)
class RestrictedApps(ComplianceRule):
    rule_type = "restrictedApps"
    platforms = ALL_PLATFORMS

    apps: frozenset[str]

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(frozenset(fields.text_list("apps", required=True, non_empty=True)))

    def params(self) -> JsonObject:
        return {"apps": json_list(self.apps)}

    @property
    def requirement(self) -> str:
        return f"none of these apps is installed: {_listing(self.apps)}"

    def check(self, context: RuleContext) -> RuleCheck:
        installed = context.sample.installed_apps
        if installed is None:
            return RuleCheck.not_reported("installedApps")
        found = installed & self.apps
        if found:
            return RuleCheck.failed(f"blocked apps are installed: {_listing(found)}")
        return RuleCheck.passed("no blocked app is installed")


@RULE_TYPES.register
@dataclass(frozen=True)
class RequiredApps(ComplianceRule):
    rule_type = "requiredApps"
    platforms = ALL_PLATFORMS

    apps: frozenset[str]

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(frozenset(fields.text_list("apps", required=True, non_empty=True)))

    def params(self) -> JsonObject:
        return {"apps": json_list(self.apps)}

    @property
    def requirement(self) -> str:
        return f"these apps are installed: {_listing(self.apps)}"

    def check(self, context: RuleContext) -> RuleCheck:
        installed = context.sample.installed_apps
        if installed is None:
            return RuleCheck.not_reported("installedApps")
        missing = self.apps - installed
        if missing:
            return RuleCheck.failed(f"required apps are missing: {_listing(missing)}")
        return RuleCheck.passed("every required app is installed")
