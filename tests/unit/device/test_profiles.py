"""SSO extension profile and Boxer configuration: every key, every type, only documented keys."""

from __future__ import annotations

import plistlib
import uuid
from typing import Any

import pytest

from posturebridge.device.profiles import (
    MICROSOFT_SSO_URLS,
    AdminNote,
    AppConfigPair,
    MicrosoftSsoOptions,
    ProfileError,
    android_boxer_config,
    sso_extension_profile,
)

TOP_LEVEL_KEYS = {
    "PayloadContent": list,
    "PayloadDisplayName": str,
    "PayloadIdentifier": str,
    "PayloadOrganization": str,
    "PayloadType": str,
    "PayloadUUID": str,
    "PayloadVersion": int,
    "TargetDeviceType": int,
}
PAYLOAD_KEYS = {
    "ExtensionData": dict,
    "ExtensionIdentifier": str,
    "PayloadDisplayName": str,
    "PayloadIdentifier": str,
    "PayloadOrganization": str,
    "PayloadType": str,
    "PayloadUUID": str,
    "PayloadVersion": int,
    "Type": str,
    "URLs": list,
}
# Every ExtensionData key Microsoft's plug-in page documents, with its documented plist type.
DOCUMENTED_EXTENSION_DATA = {
    "Enable_SSO_On_All_ManagedApps": int,
    "AppAllowList": str,
    "AppPrefixAllowList": str,
    "AppBlockList": str,
    "AppCookieSSOAllowList": str,
    "browser_sso_interaction_enabled": int,
    "disable_explicit_app_prompt": int,
    "disable_explicit_app_prompt_and_autologin": int,
    "disable_explicit_native_app_prompt": int,
    "disable_explicit_native_app_prompt_and_autologin": int,
    "disable_inapp_sso_signin": int,
    "admin_debug_mode_enabled": int,
    "device_registration": str,
    "use_most_secure_storage": bool,
}


def _load(platform: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("organisation", "Contoso")
    kwargs.setdefault("identifier", "com.contoso.sso")
    raw = sso_extension_profile(platform, **kwargs)
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<!DOCTYPE plist" in raw
    profile = plistlib.loads(raw, fmt=plistlib.FMT_XML)
    assert isinstance(profile, dict)
    return profile


def _assert_keys(item: dict[str, Any], expected: dict[str, type]) -> None:
    assert set(item) == set(expected)
    for key, kind in expected.items():
        # bool is an int subclass: an <integer> must not come back as <true/>.
        assert type(item[key]) is kind, key


def test_ios_profile_has_exactly_the_documented_keys_and_types() -> None:
    profile = _load("ios")
    _assert_keys(profile, TOP_LEVEL_KEYS)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    assert profile["PayloadIdentifier"] == "com.contoso.sso"
    assert profile["PayloadOrganization"] == "Contoso"
    assert profile["PayloadDisplayName"] == "Microsoft Enterprise SSO (iOS)"
    assert profile["TargetDeviceType"] == 1
    uuid.UUID(profile["PayloadUUID"])
    assert "PayloadScope" not in profile  # macOS only

    [payload] = profile["PayloadContent"]
    _assert_keys(payload, PAYLOAD_KEYS)
    assert payload["PayloadType"] == "com.apple.extensiblesso"
    assert payload["PayloadVersion"] == 1
    assert payload["PayloadIdentifier"] == "com.contoso.sso.extensiblesso"
    assert payload["ExtensionIdentifier"] == "com.microsoft.azureauthenticator.ssoextension"
    assert "TeamIdentifier" not in payload
    assert payload["Type"] == "Redirect"
    assert payload["URLs"] == [
        "https://login.microsoftonline.com",
        "https://login.microsoft.com",
        "https://sts.windows.net",
    ]
    assert payload["ExtensionData"] == {
        "browser_sso_interaction_enabled": 1,
        "disable_explicit_app_prompt": 1,
    }
    assert payload["PayloadUUID"] != profile["PayloadUUID"]
    uuid.UUID(payload["PayloadUUID"])


def test_macos_profile_names_company_portal_with_its_team_and_system_scope() -> None:
    profile = _load("macos")
    _assert_keys(profile, {**TOP_LEVEL_KEYS, "PayloadScope": str})
    assert profile["PayloadScope"] == "System"
    assert profile["TargetDeviceType"] == 5
    assert profile["PayloadDisplayName"] == "Microsoft Enterprise SSO (macOS)"
    [payload] = profile["PayloadContent"]
    _assert_keys(payload, {**PAYLOAD_KEYS, "TeamIdentifier": str})
    assert payload["ExtensionIdentifier"] == "com.microsoft.CompanyPortalMac.ssoextension"
    assert payload["TeamIdentifier"] == "UBF8T346G9"
    assert payload["Type"] == "Redirect"
    assert payload["URLs"] == list(MICROSOFT_SSO_URLS)


def test_every_option_maps_to_a_documented_key_with_its_documented_type() -> None:
    options = MicrosoftSsoOptions(
        app_allow_list=("com.contoso.mail", "com.contoso.crm"),
        app_prefix_allow_list=("com.apple.", "com.contoso."),
        app_block_list=("com.apple.mobilesafari",),
        enable_sso_on_all_managed_apps=True,
        browser_sso_interaction_enabled=True,
        disable_explicit_app_prompt=False,
        disable_explicit_app_prompt_and_autologin=True,
        disable_explicit_native_app_prompt=False,
        disable_explicit_native_app_prompt_and_autologin=False,
        disable_inapp_sso_signin=True,
        admin_debug_mode_enabled=True,
        use_most_secure_storage=True,
    )
    [payload] = _load("ios", options=options)["PayloadContent"]
    data = payload["ExtensionData"]
    assert set(data) <= set(DOCUMENTED_EXTENSION_DATA)
    for key, value in data.items():
        assert type(value) is DOCUMENTED_EXTENSION_DATA[key], key
    assert data == {
        "AppAllowList": "com.contoso.mail,com.contoso.crm",
        "AppPrefixAllowList": "com.apple.,com.contoso.",
        "AppBlockList": "com.apple.mobilesafari",
        "Enable_SSO_On_All_ManagedApps": 1,
        "browser_sso_interaction_enabled": 1,
        "disable_explicit_app_prompt": 0,
        "disable_explicit_app_prompt_and_autologin": 1,
        "disable_explicit_native_app_prompt": 0,
        "disable_explicit_native_app_prompt_and_autologin": 0,
        "disable_inapp_sso_signin": 1,
        "admin_debug_mode_enabled": 1,
        "use_most_secure_storage": True,
    }


def test_none_leaves_keys_out_so_plug_in_defaults_apply() -> None:
    options = MicrosoftSsoOptions(browser_sso_interaction_enabled=None, disable_explicit_app_prompt=None)
    [payload] = _load("macos", options=options)["PayloadContent"]
    assert payload["ExtensionData"] == {}


def test_cookie_sso_and_intune_registration_keys_are_never_written() -> None:
    raw = sso_extension_profile(
        "ios",
        organisation=None,
        identifier="com.contoso.sso",
        options=MicrosoftSsoOptions(app_allow_list=("com.contoso.mail",)),
    )
    assert b"AppCookieSSOAllowList" not in raw
    assert b"device_registration" not in raw


def test_optional_payload_keys() -> None:
    profile = _load(
        "macos",
        organisation=None,
        display_name="Contoso SSO",
        description="Single sign-on through Company Portal",
        sovereign_urls=("https://login.microsoftonline.us", "https://login-us.microsoftonline.com"),
        screen_locked_behavior="DoNotHandle",
        denied_bundle_identifiers=("com.contoso.legacy",),
        scope="User",
    )
    assert "PayloadOrganization" not in profile
    assert profile["PayloadDisplayName"] == "Contoso SSO"
    assert profile["PayloadDescription"] == "Single sign-on through Company Portal"
    assert profile["PayloadScope"] == "User"
    [payload] = profile["PayloadContent"]
    assert "PayloadOrganization" not in payload
    assert payload["URLs"] == [
        *MICROSOFT_SSO_URLS,
        "https://login.microsoftonline.us",
        "https://login-us.microsoftonline.com",
    ]
    assert payload["ScreenLockedBehavior"] == "DoNotHandle"
    assert payload["DeniedBundleIdentifiers"] == ["com.contoso.legacy"]


def test_deterministic_uuids_make_output_reproducible() -> None:
    first = sso_extension_profile("ios", organisation="C", identifier="com.contoso.sso", deterministic_uuids=True)
    again = sso_extension_profile("ios", organisation="C", identifier="com.contoso.sso", deterministic_uuids=True)
    other = sso_extension_profile("ios", organisation="C", identifier="com.contoso.sso2", deterministic_uuids=True)
    assert first == again
    uuids = {plistlib.loads(first)["PayloadUUID"], plistlib.loads(other)["PayloadUUID"]}
    assert len(uuids) == 2


def test_random_uuids_by_default() -> None:
    first = plistlib.loads(sso_extension_profile("ios", organisation="C", identifier="com.contoso.sso"))
    again = plistlib.loads(sso_extension_profile("ios", organisation="C", identifier="com.contoso.sso"))
    assert first["PayloadUUID"] != again["PayloadUUID"]
    assert first["PayloadContent"][0]["PayloadUUID"] != again["PayloadContent"][0]["PayloadUUID"]


@pytest.mark.parametrize(
    ("platform", "kwargs", "message"),
    [
        ("android", {}, "for ios or macos"),
        ("windows", {}, "unknown platform"),
        ("ios", {"identifier": "contoso"}, "reverse-DNS"),
        ("ios", {"identifier": "com.contoso sso"}, "reverse-DNS"),
        ("ios", {"scope": "System"}, "macOS profiles only"),
        ("macos", {"scope": "Machine"}, "scope must be one of System, User"),
        ("ios", {"organisation": "  "}, "organisation must be a non-empty"),
        ("ios", {"organisation": "Con\x00toso"}, "control characters"),
        ("ios", {"screen_locked_behavior": "Ignore"}, "Cancel, DoNotHandle"),
        ("ios", {"sovereign_urls": ("https://login.example.com",)}, "not a sovereign-cloud"),
        ("ios", {"sovereign_urls": "https://login.microsoftonline.us"}, "not one string"),
        ("ios", {"denied_bundle_identifiers": ("com.contoso,evil",)}, "not a bundle identifier"),
        ("ios", {"options": MicrosoftSsoOptions(app_allow_list=("com.a", "com.a"))}, "listed twice"),
        ("ios", {"options": MicrosoftSsoOptions(app_allow_list=("com.a,com.b",))}, "not a bundle identifier"),
        ("ios", {"options": MicrosoftSsoOptions(app_allow_list="com.a")}, "not one string"),
        ("ios", {"options": MicrosoftSsoOptions(app_prefix_allow_list=())}, "must not be empty"),
        (
            "ios",
            {"options": MicrosoftSsoOptions(app_allow_list=("com.a",), app_block_list=("com.a",))},
            "both allowed and blocked",
        ),
        ("macos", {"options": MicrosoftSsoOptions(disable_inapp_sso_signin=True)}, "ios only"),
        ("ios", {"options": MicrosoftSsoOptions(admin_debug_mode_enabled=1)}, "true or false"),  # type: ignore[arg-type]
    ],
)
def test_invalid_requests_are_refused(platform: str, kwargs: dict[str, Any], message: str) -> None:
    kwargs.setdefault("organisation", "Contoso")
    kwargs.setdefault("identifier", "com.contoso.sso")
    with pytest.raises(ProfileError, match=message):
        sso_extension_profile(platform, **kwargs)


def test_boxer_config_invents_no_key_and_says_what_to_look_up() -> None:
    entries = android_boxer_config()
    assert entries, "the admin must be told something"
    assert all(isinstance(entry, AdminNote) for entry in entries)
    look_up = entries[0]
    assert isinstance(look_up, AdminNote)
    assert look_up.text.startswith("LOOK UP:")
    assert look_up.look_up is not None and "Boxer" in look_up.look_up
    texts = " ".join(entry.text for entry in entries if isinstance(entry, AdminNote))
    assert "com.azure.authenticator" in texts
    assert "wsonehub://conditionalaccess?partner=Microsoft" in texts


def test_boxer_config_emits_pairs_the_admin_looked_up() -> None:
    entries = android_boxer_config(verified_pairs=[("SomeBoxerKey", "true")])
    pairs = [entry for entry in entries if isinstance(entry, AppConfigPair)]
    assert pairs == [AppConfigPair(key="SomeBoxerKey", value="true", source="supplied by the administrator")]
    assert not any(isinstance(e, AdminNote) and e.text.startswith("LOOK UP:") for e in entries)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("bad key", "1")], "not a configuration key"),
        ([("", "1")], "not a configuration key"),
        ([("k", "1"), ("k", "2")], "given twice"),
        ([("k", "a\nb")], "control characters"),
    ],
)
def test_boxer_config_refuses_bad_pairs(pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        android_boxer_config(verified_pairs=pairs)
