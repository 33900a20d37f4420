"""Sensor results: named key/value posture a device agent reports beside its samples (Workspace ONE
sensors, e.g. ``bitlocker_status=on``, ``defender_rtp=on``, ``hybrid_joined=true``).

A report carries the time the device read the values; a result older than the one stored for the same
name is ignored, so a delayed report never undoes a newer one. Values are kept as text: booleans become
``true``/``false`` and numbers their decimal form, as a sensor's declared return type would print them.
Pure: no I/O, no clock; the caller passes ``now``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ValidationError
from .wire import Fields, Problems, require_aware

SENSOR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_VALUE_LENGTH = 1024
MAX_RESULTS = 200
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class SensorResult:
    name: str
    value: str
    reported_at: dt.datetime


@dataclass(frozen=True)
class SensorReport:
    """``{"reportedDateTime": "...", "results": {"bitlocker_status": "on", "hybrid_joined": true}}``."""

    reported_at: dt.datetime
    results: tuple[SensorResult, ...]

    @classmethod
    def from_dict(cls, data: object, now: dt.datetime) -> SensorReport:
        require_aware(now, "now")
        fields = Fields(data)
        reported_at = fields.timestamp("reportedDateTime")
        if reported_at > now + CLOCK_SKEW:
            raise ValidationError.at("reportedDateTime", "lies in the future")
        problems = Problems()
        results: list[SensorResult] = []
        for name, path, value in fields.entries("results"):
            if not SENSOR_NAME.match(name):
                problems.add(ValidationError.at(path, "a sensor name is 1-64 letters, digits, '_', '.' or '-'"))
                continue
            try:
                results.append(SensorResult(name, sensor_text(value, path), reported_at))
            except ValidationError as exc:
                problems.add(exc)
        fields.reject_unknown()
        problems.raise_if_any()
        if not results:
            raise ValidationError.at("results", "must name at least one sensor")
        if len(results) > MAX_RESULTS:
            raise ValidationError.at("results", f"at most {MAX_RESULTS} sensors per report")
        return cls(reported_at, tuple(results))


def sensor_text(value: object, path: str) -> str:
    """A reported value as stored: text as is, booleans ``true``/``false``, numbers in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH:
        return value
    raise ValidationError.at(path, f"must be a string (at most {MAX_VALUE_LENGTH} characters), a number or a boolean")


@dataclass(frozen=True)
class SensorChange:
    """What a report changed: name -> (previous value or None, new value); ``stale`` were ignored."""

    changed: Mapping[str, tuple[str | None, str]]
    accepted: tuple[SensorResult, ...]
    stale: tuple[str, ...]


def merge(stored: Mapping[str, SensorResult], report: SensorReport) -> SensorChange:
    """Which results of ``report`` replace the stored ones (newer or equal time) and which values moved."""
    changed: dict[str, tuple[str | None, str]] = {}
    accepted: list[SensorResult] = []
    stale: list[str] = []
    for result in report.results:
        previous = stored.get(result.name)
        if previous is not None and result.reported_at < previous.reported_at:
            stale.append(result.name)
            continue
        accepted.append(result)
        if previous is None or previous.value != result.value:
            changed[result.name] = (previous.value if previous else None, result.value)
    return SensorChange(changed, tuple(accepted), tuple(stale))


@dataclass(frozen=True)
class SensorVerdict:
    """Whether the sensors meet ``required`` (name -> expected value); missing ones fail."""

    compliant: bool
    failed: tuple[str, ...]

    def explain(self) -> str:
        return "sensors compliant" if self.compliant else "sensors failing: " + ", ".join(self.failed)


def judge_sensors(values: Mapping[str, str], required: Mapping[str, str]) -> SensorVerdict:
    failed = tuple(name for name, expected in sorted(required.items()) if values.get(name) != expected)
    return SensorVerdict(not failed, failed)
