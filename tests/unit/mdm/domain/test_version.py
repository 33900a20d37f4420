from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posturebridge.mdm.domain import InvalidOsVersionError, OsVersion, Platform, parse_os_version


@pytest.mark.parametrize(
    ("platform", "text", "components"),
    [
        (Platform.IOS, "17.4.1", (17, 4, 1)),
        (Platform.IOS, "17", (17,)),
        (Platform.IOS, " 16.7 ", (16, 7)),
        (Platform.IOS, "26.0", (26, 0)),
        (Platform.IPADOS, "13.1", (13, 1)),
        (Platform.ANDROID, "14", (14,)),
        (Platform.ANDROID, "4.4.2", (4, 4, 2)),
        (Platform.MACOS, "14.5", (14, 5)),
        (Platform.MACOS, "10.15.7", (10, 15, 7)),
        (Platform.MACOS, "26.1", (26, 1)),
        (Platform.WINDOWS, "10.0.22631.3007", (10, 0, 22631, 3007)),
        (Platform.WINDOWS, "10.0.19045", (10, 0, 19045)),
        (Platform.LINUX, "22.04", (22, 4)),
        (Platform.LINUX, "6.8.0.45", (6, 8, 0, 45)),
    ],
)
def test_real_versions_parse(platform: Platform, text: str, components: tuple[int, ...]) -> None:
    assert parse_os_version(platform, text).components == components


@pytest.mark.parametrize(
    ("platform", "text", "reason"),
    [
        (Platform.IOS, "99.0.0", "iOS 99 does not exist"),
        (Platform.IOS, "0.1", "iOS 0 does not exist"),
        (Platform.IOS, "abc", "expected dot-separated numbers such as 17.4.1"),
        (Platform.IOS, "", "expected dot-separated numbers"),
        (Platform.IOS, "17.", "expected dot-separated numbers"),
        (Platform.IOS, "17..1", "expected dot-separated numbers"),
        (Platform.IOS, "v17.1", "expected dot-separated numbers"),
        (Platform.IOS, "-1.0", "expected dot-separated numbers"),
        (Platform.IOS, "17.4.1.2", "expected 1 to 3 numbers"),
        (Platform.IOS, "\u0661\u0667.0", "expected dot-separated numbers"),
        (Platform.IOS, "20.1", "iOS 20 was never released (Apple went from 18 to 26)"),
        (Platform.IPADOS, "12.4", "iPadOS 12 does not exist"),
        (Platform.MACOS, "9.2", "macOS 9 does not exist"),
        (Platform.MACOS, "16.0", "macOS 16 was never released (Apple went from 15 to 26)"),
        (Platform.ANDROID, "99", "Android 99 does not exist"),
        (Platform.WINDOWS, "11.0", "Windows reports 10.0.<build>"),
        (Platform.WINDOWS, "10.0", "Windows reports 10.0.<build>"),
        (Platform.WINDOWS, "11.0.22631.3007", "Windows reports 10.0.<build>"),
        (Platform.WINDOWS, "10.0.5.1", "build 5 is not a Windows 10/11 build"),
        (Platform.WINDOWS, "10.0.22631.3007.1", "expected 1 to 4 numbers"),
        (Platform.LINUX, "jammy", "expected dot-separated numbers such as 22.04"),
    ],
)
def test_an_impossible_version_is_an_error_that_says_why(platform: Platform, text: str, reason: str) -> None:
    with pytest.raises(InvalidOsVersionError) as caught:
        parse_os_version(platform, text)
    assert reason in str(caught.value)
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("platform", "lower", "higher"),
    [
        (Platform.IOS, "17.9", "17.10"),
        (Platform.IOS, "17.4", "17.4.1"),
        (Platform.IOS, "9.3.5", "10.0"),
        (Platform.IOS, "18.7", "26.0"),
        (Platform.ANDROID, "13", "14"),
        (Platform.ANDROID, "9", "10"),
        (Platform.MACOS, "10.15.7", "11.0"),
        (Platform.MACOS, "14.5", "14.10"),
        (Platform.WINDOWS, "10.0.22631.2861", "10.0.22631.3007"),
        (Platform.WINDOWS, "10.0.19045.9999", "10.0.22000.1"),
        (Platform.WINDOWS, "10.0.22631", "10.0.22631.1"),
        (Platform.LINUX, "20.04", "22.04"),
    ],
)
def test_versions_order_numerically(platform: Platform, lower: str, higher: str) -> None:
    low, high = parse_os_version(platform, lower), parse_os_version(platform, higher)
    assert low < high
    assert high > low
    assert low != high
    assert max(low, high) is high


@pytest.mark.parametrize(("a", "b"), [("17", "17.0"), ("17.0", "17.0.0"), ("17", "17.0.0")])
def test_trailing_zeros_do_not_change_a_version(a: str, b: str) -> None:
    va, vb = parse_os_version(Platform.IOS, a), parse_os_version(Platform.IOS, b)
    assert va == vb
    assert hash(va) == hash(vb)
    assert not va < vb
    assert len({va, vb}) == 1


def test_a_version_keeps_the_reported_text() -> None:
    assert str(parse_os_version(Platform.LINUX, "22.04")) == "22.04"
    assert str(OsVersion((17, 4))) == "17.4"


def test_a_version_needs_components() -> None:
    with pytest.raises(ValueError):
        OsVersion(())


components = st.lists(st.integers(min_value=0, max_value=99_999), min_size=1, max_size=4).map(tuple)


def _padded(parts: tuple[int, ...]) -> tuple[int, ...]:
    return parts + (0,) * (4 - len(parts))


@given(components, components)
def test_ordering_matches_the_zero_padded_numbers(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    va, vb = OsVersion(a), OsVersion(b)
    assert (va < vb) == (_padded(a) < _padded(b))
    assert (va == vb) == (_padded(a) == _padded(b))
    assert (va <= vb) == (_padded(a) <= _padded(b))


@given(st.lists(components, min_size=1, max_size=12))
def test_sorting_versions_agrees_with_sorting_their_numbers(parts: list[tuple[int, ...]]) -> None:
    ordered = sorted(OsVersion(p) for p in parts)
    assert [_padded(v.components) for v in ordered] == sorted(_padded(p) for p in parts)


@given(
    st.integers(min_value=10240, max_value=99_999),
    st.one_of(st.none(), st.integers(min_value=0, max_value=99_999)),
)
def test_every_windows_build_round_trips_through_text(build: int, revision: int | None) -> None:
    text = f"10.0.{build}" if revision is None else f"10.0.{build}.{revision}"
    version = parse_os_version(Platform.WINDOWS, text)
    assert parse_os_version(Platform.WINDOWS, str(version)) == version
    assert version.components[2] == build


@given(st.text(max_size=12))
def test_parsing_arbitrary_text_either_succeeds_or_raises_the_domain_error(text: str) -> None:
    for platform in Platform:
        try:
            version = parse_os_version(platform, text)
        except InvalidOsVersionError:
            continue
        assert str(version) == text.strip()
