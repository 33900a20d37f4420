"""Registration deep links: the three forms the seed lists are accepted, everything else refused."""

from __future__ import annotations

import pytest

from posturebridge.device.deeplinks import (
    DeepLinkError,
    LinkForm,
    Partner,
    parse_registration_link,
    registration_link,
)
from posturebridge.device.platforms import Platform

ALL = frozenset(Platform)

ACCEPTED = [
    ("wsonehub://conditionalaccess?partner=Microsoft", LinkForm.HUB, ALL),
    # The macOS Hub script in the reference writes the value in lower case.
    ("wsonehub://conditionalaccess?partner=microsoft", LinkForm.HUB, ALL),
    # Scheme and host are case-insensitive (RFC 3986).
    ("WSONEHUB://ConditionalAccess?partner=Microsoft", LinkForm.HUB, ALL),
    (
        "awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft",
        LinkForm.LEGACY_ANDROID,
        frozenset({Platform.ANDROID}),
    ),
    (
        "awagent://com.airwatch.androidagent?partnertype=microsoft&component=conditionalaccess",
        LinkForm.LEGACY_ANDROID,
        frozenset({Platform.ANDROID}),
    ),
    ("airwatch://conditionalaccess?partner=microsoft", LinkForm.LEGACY_IOS, frozenset({Platform.IOS})),
]


@pytest.mark.parametrize(("link", "form", "platforms"), ACCEPTED)
def test_known_forms_are_accepted(link: str, form: LinkForm, platforms: frozenset[Platform]) -> None:
    parsed = parse_registration_link(link)
    assert parsed.form is form
    assert parsed.partner is Partner.MICROSOFT
    assert parsed.platforms == platforms
    assert parsed.url == link
    assert {broker.platform for broker in parsed.brokers} == platforms


REFUSED = [
    ("", "link"),
    ("   ", "link"),
    (" wsonehub://conditionalaccess?partner=Microsoft", "link"),
    ("wsonehub://conditionalaccess?partner=Microsoft\n", "link"),
    ("wsonehub://condition\talaccess?partner=Microsoft", "link"),
    ("wsonehub://conditionalaccess?partner=Micro soft", "link"),
    ("wsonehub://conditionalaccess?partner=Micrösoft", "link"),
    ("https://conditionalaccess?partner=Microsoft", "scheme"),
    ("wsonehubx://conditionalaccess?partner=Microsoft", "scheme"),
    ("conditionalaccess?partner=Microsoft", "scheme"),
    ("wsonehub://apps?partner=Microsoft", "host"),
    ("wsonehub:conditionalaccess?partner=Microsoft", "host"),
    ("wsonehub://user@conditionalaccess?partner=Microsoft", "host"),
    ("wsonehub://conditionalaccess:443?partner=Microsoft", "host"),
    ("awagent://com.airwatch.otheragent?component=conditionalaccess&partnertype=microsoft", "host"),
    ("airwatch://com.airwatch.androidagent?partner=microsoft", "host"),
    ("wsonehub://conditionalaccess/register?partner=Microsoft", "path"),
    ("wsonehub://conditionalaccess/?partner=Microsoft", "path"),
    ("wsonehub://conditionalaccess?partner=Microsoft#top", "fragment"),
    ("wsonehub://conditionalaccess?partner=Microsoft#", "fragment"),
    ("wsonehub://conditionalaccess", "parameter"),
    ("wsonehub://conditionalaccess?", "parameter"),
    ("wsonehub://conditionalaccess?partner", "parameter"),
    ("wsonehub://conditionalaccess?partner=Microsoft&&x=1", "parameter"),
    ("wsonehub://conditionalaccess?partner=", "parameter"),
    ("wsonehub://conditionalaccess?Partner=Microsoft", "parameter"),
    ("wsonehub://conditionalaccess?partnertype=Microsoft", "parameter"),
    ("wsonehub://conditionalaccess?partner=Microsoft&user=alice", "parameter"),
    ("wsonehub://conditionalaccess?partner=Microsoft&partner=Microsoft", "parameter"),
    ("wsonehub://conditionalaccess?partner=Microsoft&partner=Okta", "parameter"),
    ("awagent://com.airwatch.androidagent?partnertype=microsoft", "parameter"),
    ("awagent://com.airwatch.androidagent?component=conditionalaccess&partner=microsoft", "parameter"),
    (
        "awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft"
        "&component=conditionalaccess",
        "parameter",
    ),
    ("awagent://com.airwatch.androidagent?component=apps&partnertype=microsoft", "component"),
    ("wsonehub://conditionalaccess?partner=Okta", "partner"),
    ("wsonehub://conditionalaccess?partner=Microsoft.", "partner"),
    ("airwatch://conditionalaccess?partner=google", "partner"),
    ("awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=intune", "partner"),
]


@pytest.mark.parametrize(("link", "part"), REFUSED)
def test_anything_else_is_refused_naming_the_wrong_part(link: str, part: str) -> None:
    with pytest.raises(DeepLinkError) as caught:
        parse_registration_link(link)
    assert caught.value.part == part
    assert str(caught.value)


def test_error_message_names_the_offender() -> None:
    with pytest.raises(DeepLinkError, match="unknown partner 'Okta'"):
        parse_registration_link("wsonehub://conditionalaccess?partner=Okta")
    with pytest.raises(DeepLinkError, match="'partner' appears 2 times"):
        parse_registration_link("wsonehub://conditionalaccess?partner=Microsoft&partner=Microsoft")
    with pytest.raises(DeepLinkError, match="unexpected parameter 'user'"):
        parse_registration_link("wsonehub://conditionalaccess?partner=Microsoft&user=alice")
    with pytest.raises(DeepLinkError, match="unknown scheme 'https'"):
        parse_registration_link("https://conditionalaccess?partner=Microsoft")


def test_non_string_is_refused() -> None:
    with pytest.raises(DeepLinkError) as caught:
        parse_registration_link(b"wsonehub://conditionalaccess?partner=Microsoft")  # type: ignore[arg-type]
    assert caught.value.part == "link"


@pytest.mark.parametrize(
    ("platform", "app_id", "name", "needed_for_registration"),
    [
        (Platform.ANDROID, "com.azure.authenticator", "Microsoft Authenticator", True),
        (Platform.IOS, "com.microsoft.azureauthenticator", "Microsoft Authenticator", True),
        (Platform.MACOS, "com.microsoft.CompanyPortalMac", "Microsoft Company Portal", False),
    ],
)
def test_hub_link_names_the_broker_the_seed_names_per_platform(
    platform: Platform, app_id: str, name: str, needed_for_registration: bool
) -> None:
    broker = parse_registration_link("wsonehub://conditionalaccess?partner=Microsoft").broker_for(platform)
    assert (broker.app_id, broker.name, broker.needed_for_registration) == (
        app_id,
        name,
        needed_for_registration,
    )


@pytest.mark.parametrize(
    ("link", "platform"),
    [
        ("airwatch://conditionalaccess?partner=microsoft", Platform.ANDROID),
        ("airwatch://conditionalaccess?partner=microsoft", Platform.MACOS),
        (
            "awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft",
            Platform.IOS,
        ),
    ],
)
def test_legacy_link_is_refused_on_another_platform(link: str, platform: Platform) -> None:
    with pytest.raises(DeepLinkError) as caught:
        parse_registration_link(link, platform=platform)
    assert caught.value.part == "platform"
    with pytest.raises(DeepLinkError):
        parse_registration_link(link).broker_for(platform)


def test_platform_constraint_accepts_the_matching_platform() -> None:
    link = "airwatch://conditionalaccess?partner=microsoft"
    assert parse_registration_link(link, platform="ios").form is LinkForm.LEGACY_IOS


@pytest.mark.parametrize(
    ("platform", "legacy", "expected"),
    [
        (Platform.ANDROID, False, "wsonehub://conditionalaccess?partner=Microsoft"),
        (Platform.IOS, False, "wsonehub://conditionalaccess?partner=Microsoft"),
        (Platform.MACOS, False, "wsonehub://conditionalaccess?partner=Microsoft"),
        (
            Platform.ANDROID,
            True,
            "awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft",
        ),
        (Platform.IOS, True, "airwatch://conditionalaccess?partner=microsoft"),
    ],
)
def test_built_links_match_the_seed_and_parse_back(platform: Platform, legacy: bool, expected: str) -> None:
    link = registration_link(platform, legacy=legacy)
    assert link == expected
    parsed = parse_registration_link(link, platform=platform)
    assert platform in parsed.platforms


def test_no_legacy_link_for_macos() -> None:
    with pytest.raises(DeepLinkError, match="no legacy registration link for macos"):
        registration_link(Platform.MACOS, legacy=True)


def test_unknown_platform_is_refused_when_building() -> None:
    with pytest.raises(ValueError, match="unknown platform 'windows'"):
        registration_link("windows")
