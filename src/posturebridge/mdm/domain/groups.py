"""Smart groups and policy assignment: which devices a smart group holds, which policies apply.

A smart group's criteria are platforms, ownerships, OS version ranges, models and user groups. As in
Workspace ONE, values within one criterion are alternatives (any may match) and criteria combine with
AND; an empty criterion does not constrain, so a group without criteria holds every device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .device import Device
from .errors import ValidationError
from .policy import CompliancePolicy
from .types import GroupId, JsonObject, JsonValue
from .version import OsVersion
from .vocabulary import Ownership, Platform
from .wire import Fields, Problems, json_list


@dataclass(frozen=True)
class OsVersionRange:
    """Versions of one platform from ``minimum`` to ``maximum``, both inclusive, either open."""

    platform: Platform
    minimum: OsVersion | None = None
    maximum: OsVersion | None = None

    def __post_init__(self) -> None:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValidationError.at("maximum", f"{self.maximum} is lower than the minimum {self.minimum}")

    def contains(self, platform: Platform, version: OsVersion | None) -> bool:
        if version is None or platform.compliance_family is not self.platform.compliance_family:
            return False
        if self.minimum is not None and version < self.minimum:
            return False
        return self.maximum is None or version <= self.maximum

    def describe(self) -> str:
        low = f"{self.minimum}" if self.minimum else "any"
        high = f"{self.maximum}" if self.maximum else "any"
        return f"{self.platform.display_name} {low} to {high}"

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> OsVersionRange:
        fields = Fields(data, path)
        platform = fields.enum("platform", Platform)
        minimum = fields.optional_os_version("minimum", platform)
        maximum = fields.optional_os_version("maximum", platform)
        fields.reject_unknown()
        try:
            version_range = cls(platform, minimum, maximum)
        except ValidationError as error:
            raise error.under(path) from None
        return version_range

    def to_dict(self) -> JsonObject:
        return {
            "platform": self.platform.value,
            "minimum": self.minimum.text if self.minimum else None,
            "maximum": self.maximum.text if self.maximum else None,
        }


@dataclass(frozen=True)
class SmartGroup:
    id: GroupId
    name: str
    platforms: frozenset[Platform] = field(default_factory=frozenset)
    ownerships: frozenset[Ownership] = field(default_factory=frozenset)
    os_versions: tuple[OsVersionRange, ...] = ()
    models: frozenset[str] = field(default_factory=frozenset)
    user_groups: frozenset[GroupId] = field(default_factory=frozenset)

    def mismatches(self, device: Device) -> tuple[str, ...]:
        """Why ``device`` is not a member, one reason per unmet criterion; empty if it is one."""
        reasons: list[str] = []
        if self.platforms and device.platform not in self.platforms:
            reasons.append(f"platform {device.platform.display_name} is not one of the group's platforms")
        if self.ownerships and device.ownership not in self.ownerships:
            reasons.append(f"ownership {device.ownership.value} is not one of the group's ownerships")
        if self.os_versions and not any(r.contains(device.platform, device.os_version) for r in self.os_versions):
            reported = device.os_version.text if device.os_version else "unknown"
            ranges = "; ".join(r.describe() for r in self.os_versions)
            reasons.append(f"OS version {reported} is outside the group's ranges ({ranges})")
        if self.models and device.model.casefold() not in {m.casefold() for m in self.models}:
            reasons.append(f"model {device.model or 'unknown'} is not one of the group's models")
        if self.user_groups and not (device.user_group_ids & self.user_groups):
            reasons.append("the device's user is in none of the group's user groups")
        return tuple(reasons)

    def contains(self, device: Device) -> bool:
        return not self.mismatches(device)

    @classmethod
    def from_dict(cls, data: Any) -> SmartGroup:
        fields = Fields(data)
        problems = Problems()
        group_id = problems.collect(lambda: fields.text("id", max_length=128))
        name = problems.collect(lambda: fields.text("name"))
        platforms = problems.collect(lambda: _enum_set(fields, "platforms", Platform))
        ownerships = problems.collect(lambda: _enum_set(fields, "ownerships", Ownership))
        ranges: list[OsVersionRange] = []
        for path, item in problems.collect(lambda: list(fields.objects("osVersions"))) or []:
            version_range = problems.collect(partial(OsVersionRange.from_dict, item, path))
            if version_range is not None:
                ranges.append(version_range)
        models = problems.collect(lambda: fields.text_list("models")) or ()
        user_groups = problems.collect(lambda: fields.text_list("userGroups")) or ()
        problems.collect(fields.reject_unknown)
        problems.raise_if_any()
        assert group_id and name and platforms is not None and ownerships is not None
        return cls(
            id=group_id,
            name=name,
            platforms=platforms,
            ownerships=ownerships,
            os_versions=tuple(ranges),
            models=frozenset(models),
            user_groups=frozenset(user_groups),
        )

    def to_dict(self) -> JsonObject:
        ranges: list[JsonValue] = [r.to_dict() for r in self.os_versions]
        return {
            "id": self.id,
            "name": self.name,
            "platforms": json_list(frozenset(p.value for p in self.platforms)),
            "ownerships": json_list(frozenset(o.value for o in self.ownerships)),
            "osVersions": ranges,
            "models": json_list(self.models),
            "userGroups": json_list(self.user_groups),
        }


def _enum_set(fields: Fields, key: str, kind: type[Platform] | type[Ownership]) -> frozenset[Any]:
    values = fields.text_list(key)
    allowed = {m.value: m for m in kind}
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError.at(fields.path(key), f"{', '.join(unknown)} not among: {', '.join(sorted(allowed))}")
    return frozenset(allowed[v] for v in values)


def is_member(device: Device, group: SmartGroup) -> bool:
    """Whether the smart group holds the device."""
    return group.contains(device)


def device_group_ids(device: Device, smart_groups: Iterable[SmartGroup]) -> frozenset[GroupId]:
    """Every group the device belongs to: its user's directory groups and the smart groups holding it."""
    return device.user_group_ids | {g.id for g in smart_groups if g.contains(device)}


def policies_for_device(
    device: Device,
    policies: Iterable[CompliancePolicy],
    smart_groups: Iterable[SmartGroup] | Mapping[GroupId, SmartGroup] = (),
) -> tuple[CompliancePolicy, ...]:
    """The policies of the device's platform assigned to it, exclusions winning over inclusions."""
    groups = smart_groups.values() if isinstance(smart_groups, Mapping) else smart_groups
    member_of = device_group_ids(device, groups)
    selected: list[CompliancePolicy] = []
    for policy in policies:
        assignment = policy.assignment
        if not policy.applies_to(device.platform) or member_of & assignment.exclude_groups:
            continue
        if assignment.all_devices or member_of & assignment.include_groups:
            selected.append(policy)
    return tuple(selected)
