"""Operating-system versions: parsing that refuses impossible versions per platform, and ordering that
compares numerically (17.10 > 17.9; 17 == 17.0 == 17.0.0; Windows 10.0.22631.3007 > 10.0.22631.2861).

A version is a tuple of non-negative integers. Trailing zeros do not matter for equality or ordering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import total_ordering

from .errors import InvalidOsVersionError
from .vocabulary import Platform

_NUMERIC = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})*")


@total_ordering
@dataclass(frozen=True, eq=False)
class OsVersion:
    """A parsed OS version. Build it with ``parse_os_version`` to get the per-platform checks."""

    components: tuple[int, ...]
    text: str = field(default="")

    def __post_init__(self) -> None:
        if not self.components or any(c < 0 for c in self.components):
            raise ValueError("an OsVersion needs one or more non-negative components")
        if not self.text:
            object.__setattr__(self, "text", ".".join(str(c) for c in self.components))

    @property
    def _key(self) -> tuple[int, ...]:
        parts = list(self.components)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    @property
    def major(self) -> int:
        return self.components[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OsVersion):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, OsVersion):
            return NotImplemented
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _Shape:
    """What the versions of one platform look like."""

    parts: range
    example: str
    majors: range | None = None
    never_released: range | None = None
    check: Callable[[tuple[int, ...]], str | None] | None = None


def _windows_check(parts: tuple[int, ...]) -> str | None:
    # Windows 10 and 11 both report 10.0.<build>[.<revision>]; 10240 is the first Windows 10 build.
    if len(parts) < 3 or parts[:2] != (10, 0):
        return "Windows reports 10.0.<build>[.<revision>] (Windows 11 too), e.g. 10.0.22631.3007"
    if not 10240 <= parts[2] <= 99999:
        return f"build {parts[2]} is not a Windows 10/11 build (10240 or later)"
    return None


# Apple moved to year numbers in 2025 (iOS 26, iPadOS 26, macOS 26 Tahoe), so iOS/iPadOS 19–25 and
# macOS 16–25 were never released. Upper bounds leave a few years of headroom and are the one thing
# here that needs a yearly look.
_SHAPES: dict[Platform, _Shape] = {
    Platform.IOS: _Shape(range(1, 4), "17.4.1", majors=range(1, 31), never_released=range(19, 26)),
    Platform.IPADOS: _Shape(range(1, 4), "17.4.1", majors=range(13, 31), never_released=range(19, 26)),
    Platform.MACOS: _Shape(range(1, 4), "14.5", majors=range(10, 31), never_released=range(16, 26)),
    Platform.ANDROID: _Shape(range(1, 4), "14", majors=range(1, 31)),
    Platform.WINDOWS: _Shape(range(1, 5), "10.0.22631.3007", check=_windows_check),
    Platform.LINUX: _Shape(range(1, 5), "22.04"),
}


def parse_os_version(platform: Platform, text: str) -> OsVersion:
    """Parse a version as ``platform`` reports it; raise ``InvalidOsVersionError`` if no release has it."""
    shape = _SHAPES[platform]
    stripped = text.strip()
    if not _NUMERIC.fullmatch(stripped):
        raise InvalidOsVersionError(
            platform.display_name, text, f"expected dot-separated numbers such as {shape.example}"
        )
    parts = tuple(int(p) for p in stripped.split("."))
    if len(parts) not in shape.parts:
        counts = f"{shape.parts.start}" if len(shape.parts) == 1 else f"{shape.parts.start} to {shape.parts[-1]}"
        raise InvalidOsVersionError(
            platform.display_name, text, f"expected {counts} numbers, e.g. {shape.example}, got {len(parts)}"
        )
    major = parts[0]
    if shape.majors is not None and major not in shape.majors:
        raise InvalidOsVersionError(
            platform.display_name,
            text,
            f"{platform.display_name} {major} does not exist (major versions run from "
            f"{shape.majors.start} to {shape.majors[-1]})",
        )
    if shape.never_released is not None and major in shape.never_released:
        raise InvalidOsVersionError(
            platform.display_name,
            text,
            f"{platform.display_name} {major} was never released (Apple went from "
            f"{shape.never_released.start - 1} to {shape.never_released[-1] + 1})",
        )
    if shape.check is not None:
        reason = shape.check(parts)
        if reason is not None:
            raise InvalidOsVersionError(platform.display_name, text, reason)
    return OsVersion(parts, stripped)
