"""Posture samples sent at check-in, and the decision whether a new one replaces the stored one.

A sample carries a per-device ``sequence`` (increasing) and a ``nonce`` (unique). The stored
``SampleCursor`` remembers the latest accepted sequence and time and the most recent nonces:

- a sample that reuses a nonce, or the stored sequence, is a replay: ``SampleReplayedError``;
- a sample older than the stored one (lower sequence or earlier ``sampledDateTime``) is ignored;
- a sample dated after ``now`` plus the allowed clock skew is refused: ``SampleFromTheFutureError``.

``None`` on a posture field means "not reported"; rules that need it report ``error``, never pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Any

from .errors import SampleFromTheFutureError, SampleReplayedError, ValidationError
from .types import JsonObject
from .version import OsVersion
from .vocabulary import PasscodeComplexity, Platform
from .wire import Fields, Problems, format_timestamp, json_list, require_aware

MAX_SEQUENCE = 2**63 - 1
DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)
DEFAULT_NONCE_MEMORY = 64

_MOBILE = frozenset({Platform.IOS, Platform.IPADOS, Platform.ANDROID})
_FLAGS = (
    "passcodePresent",
    "storageEncrypted",
    "fileVaultEnabled",
    "bitLockerEnabled",
    "compromised",
    "firewallEnabled",
    "antivirusEnabled",
    "secureBootEnabled",
    "systemIntegrityProtectionEnabled",
    "mdmProfilePresent",
)
# Fields that only one kind of platform can report; anything else reporting them is a broken agent.
_PLATFORM_ONLY_FIELDS: dict[str, frozenset[Platform]] = {
    "fileVaultEnabled": frozenset({Platform.MACOS}),
    "systemIntegrityProtectionEnabled": frozenset({Platform.MACOS}),
    "bitLockerEnabled": frozenset({Platform.WINDOWS}),
    "compromised": _MOBILE,
}


@dataclass(frozen=True)
class PostureSample:
    """What the device reported about itself at one check-in."""

    sequence: int
    nonce: str
    sampled_at: dt.datetime
    os_version: OsVersion | None = None
    os_build: str | None = None
    passcode_present: bool | None = None
    passcode_complexity: PasscodeComplexity | None = None
    storage_encrypted: bool | None = None
    """Device data protection / full-disk encryption as the platform provides it."""
    file_vault_enabled: bool | None = None
    bitlocker_enabled: bool | None = None
    compromised: bool | None = None
    """Jailbroken (iOS/iPadOS) or rooted (Android)."""
    security_patch_date: dt.date | None = None
    firewall_enabled: bool | None = None
    antivirus_enabled: bool | None = None
    secure_boot_enabled: bool | None = None
    system_integrity_protection_enabled: bool | None = None
    installed_apps: frozenset[str] | None = None
    """Bundle ids / package names / product names; ``None`` if app inventory is not collected."""
    free_storage_megabytes: int | None = None
    """Free storage in MiB (2**20 bytes)."""
    mdm_profile_present: bool | None = None

    def __post_init__(self) -> None:
        require_aware(self.sampled_at, "sampled_at")
        if not 0 <= self.sequence <= MAX_SEQUENCE:
            raise ValueError("sequence must be a non-negative 64-bit integer")
        if not self.nonce:
            raise ValueError("nonce must not be empty")

    @classmethod
    def from_dict(cls, data: Any, platform: Platform) -> PostureSample:
        """Parse a check-in body; ``platform`` is the enrolled device's, which decides valid versions."""
        fields = Fields(data)
        problems = Problems()
        sequence = problems.collect(lambda: fields.integer("sequence", minimum=0, maximum=MAX_SEQUENCE))
        nonce = problems.collect(lambda: fields.text("nonce", max_length=128))
        sampled_at = problems.collect(lambda: fields.timestamp("sampledDateTime"))
        os_version = problems.collect(lambda: fields.optional_os_version("osVersion", platform))
        os_build = problems.collect(lambda: fields.optional_text("osBuild", max_length=64))
        complexity = problems.collect(lambda: fields.optional_enum("passcodeComplexity", PasscodeComplexity))
        patch = problems.collect(lambda: fields.optional_date("securityPatchDate"))
        apps = problems.collect(lambda: fields.optional_text_list("installedApps"))
        storage = problems.collect(lambda: fields.optional_integer("freeStorageMegabytes", minimum=0, maximum=2**40))
        flags: dict[str, bool | None] = {key: problems.collect(partial(fields.optional_boolean, key)) for key in _FLAGS}
        for key, platforms in _PLATFORM_ONLY_FIELDS.items():
            if flags.get(key) is not None and platform not in platforms:
                names = ", ".join(p.display_name for p in sorted(platforms))
                problems.add(ValidationError.at(key, f"is reported only by {names}, not {platform.display_name}"))
        problems.collect(fields.reject_unknown)
        problems.raise_if_any()
        assert sequence is not None and nonce is not None and sampled_at is not None
        return cls(
            sequence=sequence,
            nonce=nonce,
            sampled_at=sampled_at,
            os_version=os_version,
            os_build=os_build,
            passcode_present=flags["passcodePresent"],
            passcode_complexity=complexity,
            storage_encrypted=flags["storageEncrypted"],
            file_vault_enabled=flags["fileVaultEnabled"],
            bitlocker_enabled=flags["bitLockerEnabled"],
            compromised=flags["compromised"],
            security_patch_date=patch,
            firewall_enabled=flags["firewallEnabled"],
            antivirus_enabled=flags["antivirusEnabled"],
            secure_boot_enabled=flags["secureBootEnabled"],
            system_integrity_protection_enabled=flags["systemIntegrityProtectionEnabled"],
            installed_apps=frozenset(apps) if apps is not None else None,
            free_storage_megabytes=storage,
            mdm_profile_present=flags["mdmProfilePresent"],
        )

    def to_dict(self) -> JsonObject:
        return {
            "sequence": self.sequence,
            "nonce": self.nonce,
            "sampledDateTime": format_timestamp(self.sampled_at),
            "osVersion": self.os_version.text if self.os_version else None,
            "osBuild": self.os_build,
            "passcodePresent": self.passcode_present,
            "passcodeComplexity": self.passcode_complexity.value if self.passcode_complexity else None,
            "storageEncrypted": self.storage_encrypted,
            "fileVaultEnabled": self.file_vault_enabled,
            "bitLockerEnabled": self.bitlocker_enabled,
            "compromised": self.compromised,
            "securityPatchDate": self.security_patch_date.isoformat() if self.security_patch_date else None,
            "firewallEnabled": self.firewall_enabled,
            "antivirusEnabled": self.antivirus_enabled,
            "secureBootEnabled": self.secure_boot_enabled,
            "systemIntegrityProtectionEnabled": self.system_integrity_protection_enabled,
            "installedApps": json_list(self.installed_apps) if self.installed_apps is not None else None,
            "freeStorageMegabytes": self.free_storage_megabytes,
            "mdmProfilePresent": self.mdm_profile_present,
        }


@dataclass(frozen=True)
class SampleCursor:
    """What the store keeps per device to judge the next sample."""

    sequence: int
    sampled_at: dt.datetime
    recent_nonces: tuple[str, ...] = field(default=())
    """Oldest first, at most the configured nonce memory."""

    def to_dict(self) -> JsonObject:
        return {
            "sequence": self.sequence,
            "sampledDateTime": format_timestamp(self.sampled_at),
            "recentNonces": list(self.recent_nonces),
        }

    @classmethod
    def from_dict(cls, data: Any) -> SampleCursor:
        fields = Fields(data)
        cursor = cls(
            sequence=fields.integer("sequence", minimum=0, maximum=MAX_SEQUENCE),
            sampled_at=fields.timestamp("sampledDateTime"),
            recent_nonces=fields.text_list("recentNonces"),
        )
        fields.reject_unknown()
        return cursor


class SampleDisposition(StrEnum):
    ACCEPTED = "accepted"
    IGNORED_STALE = "ignoredStale"


@dataclass(frozen=True)
class SampleAcceptance:
    disposition: SampleDisposition
    cursor: SampleCursor
    """The cursor to store: advanced when accepted, unchanged when ignored."""
    reason: str

    @property
    def accepted(self) -> bool:
        return self.disposition is SampleDisposition.ACCEPTED


def accept_sample(
    sample: PostureSample,
    cursor: SampleCursor | None,
    now: dt.datetime,
    *,
    max_clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    nonce_memory: int = DEFAULT_NONCE_MEMORY,
) -> SampleAcceptance:
    """Decide whether ``sample`` becomes the device's latest; raise ``SampleRejectedError`` if refused."""
    require_aware(now, "now")
    if sample.sampled_at > now + max_clock_skew:
        raise SampleFromTheFutureError(
            f"posture sample {sample.sequence} is dated {format_timestamp(sample.sampled_at)}, "
            f"after the server time {format_timestamp(now)} plus the allowed clock skew"
        )
    if cursor is None:
        fresh = SampleCursor(sample.sequence, sample.sampled_at, (sample.nonce,))
        return SampleAcceptance(SampleDisposition.ACCEPTED, fresh, "first sample for this device")
    if sample.nonce in cursor.recent_nonces:
        raise SampleReplayedError(sample.nonce, sample.sequence, "its nonce was already used")
    if sample.sequence == cursor.sequence:
        raise SampleReplayedError(
            sample.nonce, sample.sequence, "a different sample with this sequence was already accepted"
        )
    if sample.sequence < cursor.sequence:
        return SampleAcceptance(
            SampleDisposition.IGNORED_STALE,
            cursor,
            f"sequence {sample.sequence} is older than the stored sequence {cursor.sequence}",
        )
    if sample.sampled_at < cursor.sampled_at:
        return SampleAcceptance(
            SampleDisposition.IGNORED_STALE,
            cursor,
            f"sampled at {format_timestamp(sample.sampled_at)}, before the stored sample "
            f"({format_timestamp(cursor.sampled_at)})",
        )
    nonces = (*cursor.recent_nonces, sample.nonce)[-max(nonce_memory, 1) :]
    advanced = replace(cursor, sequence=sample.sequence, sampled_at=sample.sampled_at, recent_nonces=nonces)
    return SampleAcceptance(SampleDisposition.ACCEPTED, advanced, "newer than the stored sample")
