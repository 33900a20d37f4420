from __future__ import annotations

import pytest

from posturebridge.mdm.domain import Platform, RuleOutcome

from .cases import RuleCase, assert_case

P, F, E = RuleOutcome.PASSED, RuleOutcome.FAILED, RuleOutcome.ERROR
STORAGE = {"type": "storageRequireEncryption"}

CASES = [
    RuleCase("storage_ios_data_protection", Platform.IOS, STORAGE, P, "encrypted (data protection)"),
    RuleCase(
        "storage_android_unencrypted",
        Platform.ANDROID,
        STORAGE,
        F,
        "not encrypted (device encryption is off)",
        sample={"storage_encrypted": False},
    ),
    RuleCase(
        "storage_macos_read_through_filevault",
        Platform.MACOS,
        STORAGE,
        F,
        "FileVault is off",
        sample={"storage_encrypted": None, "file_vault_enabled": False},
    ),
    RuleCase(
        "storage_windows_read_through_bitlocker",
        Platform.WINDOWS,
        STORAGE,
        P,
        "BitLocker",
        sample={"storage_encrypted": None, "bitlocker_enabled": True},
    ),
    RuleCase(
        "storage_not_reported",
        Platform.LINUX,
        STORAGE,
        E,
        "storageEncrypted",
        sample={"storage_encrypted": None},
    ),
    RuleCase("filevault_on", Platform.MACOS, {"type": "fileVaultEnabled"}, P, "FileVault is on"),
    RuleCase(
        "filevault_off",
        Platform.MACOS,
        {"type": "fileVaultEnabled"},
        F,
        "FileVault is off",
        sample={"file_vault_enabled": False},
    ),
    RuleCase(
        "filevault_not_reported",
        Platform.MACOS,
        {"type": "fileVaultEnabled"},
        E,
        "fileVaultEnabled",
        sample={"file_vault_enabled": None},
    ),
    RuleCase("bitlocker_on", Platform.WINDOWS, {"type": "bitLockerEnabled"}, P, "BitLocker is on"),
    RuleCase(
        "bitlocker_off",
        Platform.WINDOWS,
        {"type": "bitLockerEnabled"},
        F,
        "BitLocker is off",
        sample={"bitlocker_enabled": False},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_encryption_rules_read_the_platform_mechanism(case: RuleCase) -> None:
    assert_case(case)
