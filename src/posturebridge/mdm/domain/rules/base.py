"""The compliance rule contract and the registry of rule types.

A rule type is a frozen dataclass subclassing ``ComplianceRule``: it names itself (``rule_type``, the
wire name), says which platforms it applies to, reads its parameters from a policy document, writes
them back, states its requirement, and checks one device + sample, explaining the outcome. Adding a
rule type is one class and one ``@RULE_TYPES.register``; nothing else in the engine changes.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from ..device import Device
from ..errors import ValidationError
from ..sample import PostureSample
from ..types import JsonObject, RuleTypeName
from ..vocabulary import Platform, RuleOutcome
from ..wire import Fields

ALL_PLATFORMS: frozenset[Platform] = frozenset(Platform)
MOBILE_PLATFORMS: frozenset[Platform] = frozenset({Platform.IOS, Platform.IPADOS, Platform.ANDROID})


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at. Rules never read a clock: ``now`` is given."""

    device: Device
    sample: PostureSample
    now: dt.datetime


@dataclass(frozen=True)
class RuleCheck:
    """A rule's verdict on one device, in words an administrator and a user can act on."""

    outcome: RuleOutcome
    explanation: str
    changes_at: dt.datetime | None = None
    """When a passing rule will start failing by the passage of time alone (last seen, patch age)."""

    @classmethod
    def passed(cls, explanation: str, changes_at: dt.datetime | None = None) -> RuleCheck:
        return cls(RuleOutcome.PASSED, explanation, changes_at)

    @classmethod
    def failed(cls, explanation: str) -> RuleCheck:
        return cls(RuleOutcome.FAILED, explanation)

    @classmethod
    def not_reported(cls, wire_field: str) -> RuleCheck:
        return cls(RuleOutcome.ERROR, f"the device did not report {wire_field}")


class ComplianceRule(ABC):
    """One requirement of a compliance policy."""

    rule_type: ClassVar[RuleTypeName]
    platforms: ClassVar[frozenset[Platform]]

    @classmethod
    @abstractmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        """Read the rule's parameters (everything but ``type``) for a policy of ``platform``."""

    @abstractmethod
    def params(self) -> JsonObject:
        """The parameters as ``from_params`` reads them."""

    @property
    @abstractmethod
    def requirement(self) -> str:
        """The requirement in words, e.g. "OS version 17.0 or later"."""

    @abstractmethod
    def check(self, context: RuleContext) -> RuleCheck: ...

    def to_dict(self) -> JsonObject:
        return {"type": self.rule_type, **self.params()}


class ParameterlessRule(ComplianceRule):
    """A rule whose only parameter is its presence in the policy."""

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls()

    def params(self) -> JsonObject:
        return {}


R = TypeVar("R", bound=type[ComplianceRule])


def platform_mismatch(rule_class: type[ComplianceRule], platform: Platform) -> str | None:
    """Why a rule type cannot be part of a ``platform`` policy, or None if it can."""
    if platform in rule_class.platforms:
        return None
    allowed = ", ".join(p.display_name for p in sorted(rule_class.platforms))
    return f"{rule_class.rule_type} does not apply to {platform.display_name} (only {allowed})"


class RuleRegistry:
    """Rule types by wire name. ``RULE_TYPES`` holds the built-in ones; tests may build their own."""

    def __init__(self) -> None:
        self._types: dict[RuleTypeName, type[ComplianceRule]] = {}

    def register(self, rule_class: R) -> R:
        name = rule_class.rule_type
        if name in self._types:
            raise ValueError(f"rule type {name!r} is already registered")
        self._types[name] = rule_class
        return rule_class

    def get(self, name: RuleTypeName) -> type[ComplianceRule] | None:
        return self._types.get(name)

    def names(self) -> tuple[RuleTypeName, ...]:
        return tuple(sorted(self._types))

    def __iter__(self) -> Iterator[type[ComplianceRule]]:
        return iter(self._types[name] for name in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def parse(self, data: Any, platform: Platform, path: str = "") -> ComplianceRule:
        """Build a rule from ``{"type": ..., **params}`` for a policy of ``platform``."""
        fields = Fields(data, path)
        name = fields.text("type", max_length=64)
        rule_class = self._types.get(name)
        if rule_class is None:
            raise ValidationError.at(
                fields.path("type"), f"unknown rule type {name!r}; known types: {', '.join(self.names())}"
            )
        mismatch = platform_mismatch(rule_class, platform)
        if mismatch is not None:
            raise ValidationError.at(fields.path("type"), mismatch)
        rule = rule_class.from_params(fields, platform)
        fields.reject_unknown()
        return rule


RULE_TYPES = RuleRegistry()
