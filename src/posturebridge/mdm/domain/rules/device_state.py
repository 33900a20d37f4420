"""Rules on the device's state beyond its security features: ``deviceLastSeen`` (Workspace ONE's
"Device Last Seen"), ``deviceModelAllowList``, ``securityPatchAge`` (Android) and ``minimumFreeStorage``.

Time-based rules fail from the first instant past their limit and report that instant as
``changes_at`` while they pass, so the caller knows when to evaluate again without a new sample.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Self

from ..types import JsonObject
from ..vocabulary import Platform
from ..wire import Fields, format_timestamp, json_list
from .base import ALL_PLATFORMS, RULE_TYPES, ComplianceRule, RuleCheck, RuleContext

HOURS_PER_YEAR = 24 * 366


@RULE_TYPES.register
@dataclass(frozen=True)
class DeviceLastSeen(ComplianceRule):
    rule_type = "deviceLastSeen"
    platforms = ALL_PLATFORMS

    maximum_hours: int

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.integer("maximumHours", minimum=1, maximum=HOURS_PER_YEAR))

    def params(self) -> JsonObject:
        return {"maximumHours": self.maximum_hours}

    @property
    def requirement(self) -> str:
        return f"the device checked in within the last {self.maximum_hours} hours"

    def check(self, context: RuleContext) -> RuleCheck:
        last = context.device.last_contact
        deadline = last + dt.timedelta(hours=self.maximum_hours)
        if context.now < deadline:
            return RuleCheck.passed(
                f"last seen {format_timestamp(last)}, within {self.maximum_hours} hours", changes_at=deadline
            )
        return RuleCheck.failed(f"last seen {format_timestamp(last)}, more than {self.maximum_hours} hours ago")


@RULE_TYPES.register
@dataclass(frozen=True)
class DeviceModelAllowList(ComplianceRule):
    rule_type = "deviceModelAllowList"
    platforms = ALL_PLATFORMS

    models: frozenset[str]

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(frozenset(fields.text_list("models", required=True, non_empty=True)))

    def params(self) -> JsonObject:
        return {"models": json_list(self.models)}

    @property
    def requirement(self) -> str:
        return f"the model is one of: {', '.join(sorted(self.models))}"

    def check(self, context: RuleContext) -> RuleCheck:
        model = context.device.model.strip()
        if not model:
            return RuleCheck.not_reported("model")
        # Model names are compared without regard to case: inventories disagree on "iPhone" vs "IPHONE".
        if model.casefold() in {m.strip().casefold() for m in self.models}:
            return RuleCheck.passed(f"model {model} is allowed")
        return RuleCheck.failed(f"model {model} is not on the allowed list")


@RULE_TYPES.register
@dataclass(frozen=True)
class SecurityPatchAge(ComplianceRule):
    """Android's security patch level, as an age in days rather than a fixed date, so a policy does
    not need editing every month."""

    rule_type = "securityPatchAge"
    platforms = frozenset({Platform.ANDROID})

    maximum_days: int

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.integer("maximumDays", minimum=1, maximum=3650))

    def params(self) -> JsonObject:
        return {"maximumDays": self.maximum_days}

    @property
    def requirement(self) -> str:
        return f"the security patch is at most {self.maximum_days} days old"

    def check(self, context: RuleContext) -> RuleCheck:
        patch = context.sample.security_patch_date
        if patch is None:
            return RuleCheck.not_reported("securityPatchDate")
        # Patch levels are dates without a zone; days are counted in UTC.
        age = (context.now.astimezone(dt.UTC).date() - patch).days
        if age <= self.maximum_days:
            first_failing_day = patch + dt.timedelta(days=self.maximum_days + 1)
            return RuleCheck.passed(
                f"security patch {patch.isoformat()} is {age} days old (limit {self.maximum_days})",
                changes_at=dt.datetime.combine(first_failing_day, dt.time(0), tzinfo=dt.UTC),
            )
        return RuleCheck.failed(f"security patch {patch.isoformat()} is {age} days old, more than {self.maximum_days}")


@RULE_TYPES.register
@dataclass(frozen=True)
class MinimumFreeStorage(ComplianceRule):
    rule_type = "minimumFreeStorage"
    platforms = ALL_PLATFORMS

    minimum_megabytes: int

    @classmethod
    def from_params(cls, fields: Fields, platform: Platform) -> Self:
        return cls(fields.integer("minimumMegabytes", minimum=1, maximum=2**40))

    def params(self) -> JsonObject:
        return {"minimumMegabytes": self.minimum_megabytes}

    @property
    def requirement(self) -> str:
        return f"at least {self.minimum_megabytes} MB of free storage"

    def check(self, context: RuleContext) -> RuleCheck:
        free = context.sample.free_storage_megabytes
        if free is None:
            return RuleCheck.not_reported("freeStorageMegabytes")
        if free >= self.minimum_megabytes:
            return RuleCheck.passed(f"{free} MB free (minimum {self.minimum_megabytes} MB)")
        return RuleCheck.failed(f"only {free} MB free, below the minimum {self.minimum_megabytes} MB")
