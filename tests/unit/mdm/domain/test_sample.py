from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from posturebridge.mdm.domain import (
    PasscodeComplexity,
    Platform,
    PostureSample,
    SampleCursor,
    SampleDisposition,
    SampleFromTheFutureError,
    SampleReplayedError,
    ValidationError,
    accept_sample,
)

from .factories import HOUR, NOW, VERSIONS, make_sample

BODY: dict[str, Any] = {
    "sequence": 42,
    "nonce": "5f0c7a2e",
    "sampledDateTime": "2024-06-01T11:00:00Z",
    "osVersion": "14.5",
    "osBuild": "23F79",
    "passcodePresent": True,
    "passcodeComplexity": "medium",
    "storageEncrypted": True,
    "fileVaultEnabled": True,
    "bitLockerEnabled": None,
    "compromised": None,
    "securityPatchDate": "2024-05-01",
    "firewallEnabled": False,
    "antivirusEnabled": None,
    "secureBootEnabled": None,
    "systemIntegrityProtectionEnabled": True,
    "installedApps": ["com.example.b", "com.example.a"],
    "freeStorageMegabytes": 51200,
    "mdmProfilePresent": True,
}


def test_a_check_in_body_parses_into_a_sample() -> None:
    sample = PostureSample.from_dict(BODY, Platform.MACOS)
    assert sample.sequence == 42
    assert sample.sampled_at == dt.datetime(2024, 6, 1, 11, tzinfo=dt.UTC)
    assert str(sample.os_version) == "14.5"
    assert sample.passcode_complexity is PasscodeComplexity.MEDIUM
    assert sample.file_vault_enabled is True
    assert sample.firewall_enabled is False
    assert sample.security_patch_date == dt.date(2024, 5, 1)
    assert sample.installed_apps == frozenset({"com.example.a", "com.example.b"})


def test_a_sample_round_trips_through_its_dict() -> None:
    sample = PostureSample.from_dict(BODY, Platform.MACOS)
    assert PostureSample.from_dict(sample.to_dict(), Platform.MACOS) == sample


def test_only_sequence_nonce_and_time_are_required_and_the_rest_means_not_reported() -> None:
    sample = PostureSample.from_dict(
        {"sequence": 0, "nonce": "n", "sampledDateTime": "2024-06-01T11:00:00+02:00"}, Platform.IOS
    )
    assert sample.os_version is None
    assert sample.passcode_present is None
    assert sample.installed_apps is None


@pytest.mark.parametrize(
    ("changes", "platform", "path", "message"),
    [
        ({"osVersion": "99.0.0"}, Platform.IOS, "osVersion", "iOS 99 does not exist"),
        ({"osVersion": "11.0"}, Platform.WINDOWS, "osVersion", "Windows reports 10.0.<build>"),
        ({"sequence": -1}, Platform.MACOS, "sequence", "between 0 and"),
        ({"sequence": "1"}, Platform.MACOS, "sequence", "must be an integer"),
        ({"nonce": ""}, Platform.MACOS, "nonce", "must not be empty"),
        ({"sampledDateTime": "2024-06-01T11:00:00"}, Platform.MACOS, "sampledDateTime", "UTC offset"),
        ({"sampledDateTime": "yesterday"}, Platform.MACOS, "sampledDateTime", "not an ISO 8601"),
        ({"securityPatchDate": "2024-13-01"}, Platform.MACOS, "securityPatchDate", "not a date"),
        ({"passcodeComplexity": "strong"}, Platform.MACOS, "passcodeComplexity", "not one of"),
        ({"firewallEnabled": "yes"}, Platform.MACOS, "firewallEnabled", "true, false or null"),
        ({"installedApps": [1]}, Platform.MACOS, "installedApps[0]", "non-empty string"),
        ({"battery": 80}, Platform.MACOS, "battery", "not a known field"),
        ({"bitLockerEnabled": True}, Platform.MACOS, "bitLockerEnabled", "only by Windows"),
        ({"fileVaultEnabled": True}, Platform.WINDOWS, "fileVaultEnabled", "only by macOS"),
        ({"compromised": False}, Platform.LINUX, "compromised", "not Linux"),
    ],
)
def test_a_bad_sample_names_the_field_at_fault(
    changes: dict[str, Any], platform: Platform, path: str, message: str
) -> None:
    body: dict[str, Any] = {
        "sequence": 1,
        "nonce": "n-1",
        "sampledDateTime": "2024-06-01T11:00:00Z",
        "osVersion": VERSIONS[platform],
        **changes,
    }
    with pytest.raises(ValidationError) as caught:
        PostureSample.from_dict(body, platform)
    matching = [e for e in caught.value.errors if e.path == path]
    assert matching, caught.value.errors
    assert message in matching[0].message


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        PostureSample.from_dict({"osVersion": "abc", "extra": 1}, Platform.IOS)
    assert {e.path for e in caught.value.errors} == {
        "sequence",
        "nonce",
        "sampledDateTime",
        "osVersion",
        "extra",
    }


def test_a_sample_body_must_be_an_object() -> None:
    with pytest.raises(ValidationError, match="expected an object"):
        PostureSample.from_dict(["not", "an", "object"], Platform.IOS)


# --- accepting samples -------------------------------------------------------------------------

CURSOR = SampleCursor(sequence=10, sampled_at=NOW - 2 * HOUR, recent_nonces=("n-9", "n-10"))


def test_the_first_sample_of_a_device_is_accepted() -> None:
    acceptance = accept_sample(make_sample(sequence=1, nonce="n-1"), None, NOW)
    assert acceptance.accepted
    assert acceptance.cursor == SampleCursor(1, NOW - HOUR, ("n-1",))


def test_a_newer_sample_is_accepted_and_advances_the_cursor() -> None:
    acceptance = accept_sample(make_sample(sequence=11, nonce="n-11", sampled_at=NOW - HOUR), CURSOR, NOW)
    assert acceptance.disposition is SampleDisposition.ACCEPTED
    assert acceptance.cursor.sequence == 11
    assert acceptance.cursor.sampled_at == NOW - HOUR
    assert acceptance.cursor.recent_nonces == ("n-9", "n-10", "n-11")


@pytest.mark.parametrize(
    ("sequence", "sampled_at", "reason"),
    [
        (9, NOW - HOUR, "sequence 9 is older than the stored sequence 10"),
        (11, NOW - 3 * HOUR, "before the stored sample"),
    ],
)
def test_a_sample_older_than_the_stored_one_is_ignored_not_refused(
    sequence: int, sampled_at: dt.datetime, reason: str
) -> None:
    acceptance = accept_sample(make_sample(sequence=sequence, nonce="fresh", sampled_at=sampled_at), CURSOR, NOW)
    assert acceptance.disposition is SampleDisposition.IGNORED_STALE
    assert not acceptance.accepted
    assert acceptance.cursor == CURSOR
    assert reason in acceptance.reason


def test_a_sample_replaying_a_seen_nonce_is_refused() -> None:
    with pytest.raises(SampleReplayedError, match="nonce was already used") as caught:
        accept_sample(make_sample(sequence=12, nonce="n-9"), CURSOR, NOW)
    assert caught.value.code == "sampleReplayed"


def test_a_different_sample_with_the_stored_sequence_is_refused_as_a_replay() -> None:
    with pytest.raises(SampleReplayedError, match="sequence was already accepted"):
        accept_sample(make_sample(sequence=10, nonce="other"), CURSOR, NOW)


def test_an_old_sample_with_a_seen_nonce_is_a_replay_not_merely_stale() -> None:
    with pytest.raises(SampleReplayedError):
        accept_sample(make_sample(sequence=3, nonce="n-10"), CURSOR, NOW)


def test_a_sample_from_the_future_is_refused_beyond_the_allowed_clock_skew() -> None:
    accept_sample(make_sample(sequence=11, sampled_at=NOW + dt.timedelta(minutes=4)), CURSOR, NOW)
    with pytest.raises(SampleFromTheFutureError):
        accept_sample(make_sample(sequence=11, sampled_at=NOW + dt.timedelta(minutes=6)), CURSOR, NOW)


def test_the_cursor_remembers_only_the_most_recent_nonces() -> None:
    cursor = None
    for sequence in range(1, 8):
        sample = make_sample(sequence=sequence, nonce=f"n-{sequence}", sampled_at=NOW - HOUR)
        cursor = accept_sample(sample, cursor, NOW, nonce_memory=3).cursor
    assert cursor is not None
    assert cursor.recent_nonces == ("n-5", "n-6", "n-7")


def test_the_cursor_round_trips_through_its_dict() -> None:
    assert SampleCursor.from_dict(CURSOR.to_dict()) == CURSOR


def test_accepting_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        accept_sample(make_sample(), None, dt.datetime(2024, 6, 1, 12))
