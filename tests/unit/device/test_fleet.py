"""The fleet's pure parts: the platform mix, the allocation of devices, and postures the MDM accepts."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from posturebridge.device.agent import DevicePlatform, platform_defaults, posture_sample
from posturebridge.device.fleet import _BASE_POSTURE, _OUTDATED_OS, FleetError, allocate, parse_platform_mix
from posturebridge.mdm.domain.sample import PostureSample
from posturebridge.mdm.domain.vocabulary import Platform

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_the_mix_is_weights_per_platform_in_any_case() -> None:
    assert parse_platform_mix("iOS=40, android=30,MACOS=15,windows=15") == {
        DevicePlatform.IOS: 40,
        DevicePlatform.ANDROID: 30,
        DevicePlatform.MACOS: 15,
        DevicePlatform.WINDOWS: 15,
    }


@pytest.mark.parametrize("text", ["ios", "ios=x", "symbian=1", "ios=-1", "ios=0,android=0", "ios=inf"])
def test_a_bad_mix_is_one_clear_error(text: str) -> None:
    with pytest.raises(FleetError, match="--platform-mix"):
        parse_platform_mix(text)


def test_allocation_follows_the_weights_exactly_and_interleaves() -> None:
    mix = parse_platform_mix("ios=40,android=30,macos=15,windows=15")
    assert Counter(allocate(1000, mix)) == {
        DevicePlatform.IOS: 400,
        DevicePlatform.ANDROID: 300,
        DevicePlatform.MACOS: 150,
        DevicePlatform.WINDOWS: 150,
    }
    assert set(allocate(6, mix)) == set(mix)
    assert set(allocate(20, mix)[:4]) == set(mix)  # interleaved: the first devices already show the mix
    assert len(allocate(7, parse_platform_mix("ios=1,linux=1,ipados=1"))) == 7


@pytest.mark.parametrize("platform", list(DevicePlatform))
def test_every_posture_a_simulated_device_reports_is_one_the_mdm_accepts(platform: DevicePlatform) -> None:
    _, current = platform_defaults(platform)
    mdm_platform = next(p for p in Platform if p.value == platform.value)
    for os_version in (current, _OUTDATED_OS[platform]):
        for passcode in (True, False):
            posture = {"osVersion": os_version, **_BASE_POSTURE[platform], "passcodePresent": passcode}
            sample = PostureSample.from_dict(posture_sample(posture, 1, NOW), mdm_platform)
            assert sample.passcode_present is passcode and sample.os_version is not None
