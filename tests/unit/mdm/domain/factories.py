"""Builders for domain values: a healthy device and sample per platform, tweaked per test."""

from __future__ import annotations

import datetime as dt
from typing import Any

from posturebridge.mdm.domain import (
    CompliancePolicy,
    Device,
    EnrollmentStatus,
    Ownership,
    PasscodeComplexity,
    Platform,
    PostureSample,
    parse_os_version,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

VERSIONS = {
    Platform.IOS: "17.4.1",
    Platform.IPADOS: "17.4",
    Platform.ANDROID: "14",
    Platform.MACOS: "14.5",
    Platform.WINDOWS: "10.0.22631.3007",
    Platform.LINUX: "22.04",
}
MODELS = {
    Platform.IOS: "iPhone15,2",
    Platform.IPADOS: "iPad13,4",
    Platform.ANDROID: "Pixel 8",
    Platform.MACOS: "MacBookPro18,3",
    Platform.WINDOWS: "Latitude 7440",
    Platform.LINUX: "ThinkPad X1",
}


def make_device(platform: Platform = Platform.IOS, **overrides: Any) -> Device:
    values: dict[str, Any] = {
        "id": "dev-1",
        "platform": platform,
        "ownership": Ownership.CORPORATE,
        "enrollment_status": EnrollmentStatus.ENROLLED,
        "enrolled_at": NOW - 60 * DAY,
        "last_seen_at": NOW - HOUR,
        "model": MODELS[platform],
        "os_version": parse_os_version(platform, VERSIONS[platform]),
        "user_id": "user-1",
        "user_group_ids": frozenset({"grp-staff"}),
    }
    values.update(overrides)
    return Device(**values)


def make_sample(platform: Platform = Platform.IOS, **overrides: Any) -> PostureSample:
    """A sample that passes every rule type applicable to ``platform``."""
    mobile = platform in {Platform.IOS, Platform.IPADOS, Platform.ANDROID}
    values: dict[str, Any] = {
        "sequence": 1,
        "nonce": "nonce-1",
        "sampled_at": NOW - HOUR,
        "os_version": parse_os_version(platform, VERSIONS[platform]),
        "passcode_present": True,
        "passcode_complexity": PasscodeComplexity.HIGH,
        "storage_encrypted": True,
        "file_vault_enabled": True if platform is Platform.MACOS else None,
        "bitlocker_enabled": True if platform is Platform.WINDOWS else None,
        "compromised": False if mobile else None,
        "security_patch_date": (NOW - 10 * DAY).date(),
        "firewall_enabled": True,
        "antivirus_enabled": True,
        "secure_boot_enabled": True,
        "system_integrity_protection_enabled": True if platform is Platform.MACOS else None,
        "installed_apps": frozenset({"com.example.mail", "com.example.vpn"}),
        "free_storage_megabytes": 20_000,
        "mdm_profile_present": True,
    }
    values.update(overrides)
    return PostureSample(**values)


def make_policy(
    platform: Platform = Platform.IOS,
    rules: list[dict[str, Any]] | None = None,
    actions: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> CompliancePolicy:
    document: dict[str, Any] = {
        "id": f"pol-{platform.value}",
        "displayName": f"{platform.display_name} baseline",
        "platform": platform.value,
        "rules": rules if rules is not None else [{"type": "passcodeRequired"}],
        "assignment": {"allDevices": True},
    }
    if actions is not None:
        document["scheduledActions"] = actions
    document.update(fields)
    return CompliancePolicy.from_dict(document)
