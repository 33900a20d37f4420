"""Type aliases shared by the MDM domain, so signatures say what an identifier or a wire value is."""

from __future__ import annotations

from typing import TypeAlias

DeviceId: TypeAlias = str
PolicyId: TypeAlias = str
GroupId: TypeAlias = str
"""A directory (Entra) group object id or a smart group id; assignments may name either."""
UserId: TypeAlias = str
RuleTypeName: TypeAlias = str
"""The wire name of a compliance rule type, e.g. ``osMinimumVersion``; unique within a policy."""
ActionKey: TypeAlias = str
"""Identifies one scheduled action within its policy, e.g. ``block@72h``."""

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"
