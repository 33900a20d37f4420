"""Device configuration that routes sign-ins through Microsoft's broker.

- Apple: a configuration profile (.mobileconfig) with one Extensible SSO payload for the Microsoft
  Enterprise SSO plug-in (Authenticator on iOS, Company Portal on macOS), so every app's Entra
  sign-in carries the device identity that Conditional Access looks up.
- Android: the managed app configuration for Workspace ONE Boxer.

Pure builders: they return bytes or values and never write files or talk to an MDM. They use only
keys that public documentation names (shared reference sso-profiles.md):

- profile and payload keys: Apple's device-management schema, ``mdm/profiles/TopLevel.yaml``,
  ``CommonPayloadKeys.yaml`` and ``com.apple.extensiblesso.yaml``
  (https://github.com/apple/device-management,
  https://developer.apple.com/documentation/devicemanagement/extensiblesinglesignon);
- the plug-in's identifiers, URLs and ``ExtensionData`` keys: "Microsoft Enterprise SSO plug-in for
  Apple devices" (https://learn.microsoft.com/entra/identity-platform/apple-sso-plugin).

Where the public material has no key (Boxer's Conditional Access switch), the output says what the
administrator must look up; it never invents a key.
"""

from __future__ import annotations

import plistlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from posturebridge.device.deeplinks import registration_link
from posturebridge.device.platforms import BROKER_APPS, Platform, parse_platform


class ProfileError(ValueError):
    """The caller asked for a profile that would be invalid or undocumented."""


# --- Apple Extensible SSO profile ---------------------------------------------------------------

EXTENSIBLE_SSO_PAYLOAD_TYPE = "com.apple.extensiblesso"
# Microsoft's sign-in URL prefixes, in the order the plug-in page lists them ("URLs").
MICROSOFT_SSO_URLS: tuple[str, ...] = (
    "https://login.microsoftonline.com",
    "https://login.microsoft.com",
    "https://sts.windows.net",
)
# The page says to add these only when the organisation uses the sovereign cloud in question.
SOVEREIGN_SSO_URLS: tuple[str, ...] = (
    "https://login.partner.microsoftonline.cn",
    "https://login.chinacloudapi.cn",
    "https://login.microsoftonline.us",
    "https://login-us.microsoftonline.com",
)
# TargetDeviceType (TopLevel.yaml): 1 = iPhone/iPad/iPod touch, 5 = Mac. Supported from iOS 12.2 and
# macOS 10.15, below the plug-in's own minimum (iOS 13, macOS 10.15), so always safe to send.
_TARGET_DEVICE_TYPE = {Platform.IOS: 1, Platform.MACOS: 5}
_SCREEN_LOCKED_BEHAVIORS = ("Cancel", "DoNotHandle")
_SCOPES = ("System", "User")
# Namespace for deterministic PayloadUUIDs; changing it changes every reproducible profile.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:posturebridge:device:mobileconfig")
# Apple: a bundle identifier holds only A-Z, a-z, 0-9, hyphen and period. Commas would also break the
# plug-in's comma-delimited lists.
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
_BUNDLE_PREFIX = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?")
_REVERSE_DNS = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

ApplePlatform = Literal["ios", "macos"]


@dataclass(frozen=True)
class MicrosoftSsoOptions:
    """The plug-in's ``ExtensionData`` settings; ``None`` leaves a key out so the plug-in default applies.

    Defaults follow Microsoft's recommended set for non-Intune MDMs: browser SSO interaction on (needed
    for Conditional Access) and explicit app prompts suppressed. Two documented keys are left out on
    purpose: ``AppCookieSSOAllowList`` (documented as not compatible with Conditional Access) and
    ``device_registration`` (its value ``{{DEVICEREGISTRATION}}`` is an Intune substitution variable).
    """

    app_allow_list: Sequence[str] = ()
    """Non-MSAL apps allowed to use SSO (bundle ids)."""
    app_prefix_allow_list: Sequence[str] | None = None
    """Bundle-id prefixes; replaces the plug-in default (com.apple., plus com.microsoft. on macOS)."""
    app_block_list: Sequence[str] = ()
    enable_sso_on_all_managed_apps: bool | None = None
    browser_sso_interaction_enabled: bool | None = True
    disable_explicit_app_prompt: bool | None = True
    disable_explicit_app_prompt_and_autologin: bool | None = None
    disable_explicit_native_app_prompt: bool | None = None
    disable_explicit_native_app_prompt_and_autologin: bool | None = None
    disable_inapp_sso_signin: bool | None = None
    """iOS only."""
    admin_debug_mode_enabled: bool | None = None
    use_most_secure_storage: bool | None = None


class _Kind(Enum):
    FLAG = "Integer 1/0"
    BOOLEAN = "Boolean"
    BUNDLE_IDS = "String, comma-delimited bundle ids"
    BUNDLE_PREFIXES = "String, comma-delimited bundle-id prefixes"


@dataclass(frozen=True)
class _ExtensionDataKey:
    attribute: str
    key: str
    kind: _Kind
    platforms: frozenset[Platform] = frozenset({Platform.IOS, Platform.MACOS})


# Every ExtensionData key this module can write, with the type the plug-in page documents.
_EXTENSION_DATA_KEYS: tuple[_ExtensionDataKey, ...] = (
    _ExtensionDataKey("enable_sso_on_all_managed_apps", "Enable_SSO_On_All_ManagedApps", _Kind.FLAG),
    _ExtensionDataKey("app_allow_list", "AppAllowList", _Kind.BUNDLE_IDS),
    _ExtensionDataKey("app_prefix_allow_list", "AppPrefixAllowList", _Kind.BUNDLE_PREFIXES),
    _ExtensionDataKey("app_block_list", "AppBlockList", _Kind.BUNDLE_IDS),
    _ExtensionDataKey("browser_sso_interaction_enabled", "browser_sso_interaction_enabled", _Kind.FLAG),
    _ExtensionDataKey("disable_explicit_app_prompt", "disable_explicit_app_prompt", _Kind.FLAG),
    _ExtensionDataKey(
        "disable_explicit_app_prompt_and_autologin", "disable_explicit_app_prompt_and_autologin", _Kind.FLAG
    ),
    _ExtensionDataKey("disable_explicit_native_app_prompt", "disable_explicit_native_app_prompt", _Kind.FLAG),
    _ExtensionDataKey(
        "disable_explicit_native_app_prompt_and_autologin",
        "disable_explicit_native_app_prompt_and_autologin",
        _Kind.FLAG,
    ),
    _ExtensionDataKey("disable_inapp_sso_signin", "disable_inapp_sso_signin", _Kind.FLAG, frozenset({Platform.IOS})),
    _ExtensionDataKey("admin_debug_mode_enabled", "admin_debug_mode_enabled", _Kind.FLAG),
    # Documented as "Boolean true/false or Integer 1/0"; a plist boolean is the plainer of the two.
    _ExtensionDataKey("use_most_secure_storage", "use_most_secure_storage", _Kind.BOOLEAN),
)


def sso_extension_profile(
    platform: ApplePlatform | Platform | str,
    *,
    organisation: str | None,
    identifier: str,
    options: MicrosoftSsoOptions | None = None,
    display_name: str | None = None,
    description: str | None = None,
    sovereign_urls: Sequence[str] = (),
    screen_locked_behavior: str | None = None,
    denied_bundle_identifiers: Sequence[str] = (),
    scope: str | None = None,
    deterministic_uuids: bool = False,
) -> bytes:
    """An XML .mobileconfig with one Extensible SSO payload for Microsoft's broker on iOS or macOS.

    `identifier` is the profile's reverse-DNS PayloadIdentifier (same identifier = the device replaces
    the installed profile). With `deterministic_uuids` the PayloadUUIDs derive from it, so the same
    inputs give byte-identical output; otherwise they are random. `scope` is macOS only (default
    ``System``). The profile must be delivered by an MDM: Apple does not allow installing this payload
    by hand.
    """
    target = _apple_platform(platform)
    options = options if options is not None else MicrosoftSsoOptions()
    identifier = _reverse_dns(identifier)
    payload_identifier = f"{identifier}.extensiblesso"
    make_uuid = _uuid_factory(deterministic_uuids)
    broker = BROKER_APPS[target]
    assert broker.sso_extension_identifier is not None  # every Apple broker has one

    payload: dict[str, Any] = {
        "PayloadType": EXTENSIBLE_SSO_PAYLOAD_TYPE,
        "PayloadVersion": 1,
        "PayloadIdentifier": payload_identifier,
        "PayloadUUID": make_uuid(payload_identifier),
        "PayloadDisplayName": f"{broker.name} SSO extension",
        "ExtensionIdentifier": broker.sso_extension_identifier,
        "Type": "Redirect",
        "URLs": [*MICROSOFT_SSO_URLS, *_sovereign(sovereign_urls)],
        "ExtensionData": _extension_data(options, target),
    }
    # TeamIdentifier: required on macOS, ignored on iOS, where Microsoft says to leave it out.
    if broker.team_identifier is not None:
        payload["TeamIdentifier"] = broker.team_identifier
    if screen_locked_behavior is not None:
        payload["ScreenLockedBehavior"] = _one_of(
            "screen_locked_behavior", screen_locked_behavior, _SCREEN_LOCKED_BEHAVIORS
        )
    if denied_bundle_identifiers:
        payload["DeniedBundleIdentifiers"] = _bundle_ids(
            "denied_bundle_identifiers", denied_bundle_identifiers, _BUNDLE_ID
        )

    profile: dict[str, Any] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": make_uuid(identifier),
        "PayloadDisplayName": _text("display_name", display_name)
        if display_name is not None
        else f"Microsoft Enterprise SSO ({'iOS' if target is Platform.IOS else 'macOS'})",
        "TargetDeviceType": _TARGET_DEVICE_TYPE[target],
        "PayloadContent": [payload],
    }
    if organisation is not None:
        profile["PayloadOrganization"] = payload["PayloadOrganization"] = _text("organisation", organisation)
    if description is not None:
        profile["PayloadDescription"] = _text("description", description)
    if target is Platform.MACOS:
        # Apple's schema gives no default; System (device channel) works from macOS 10.15, while this
        # payload on the user channel needs macOS 11.
        profile["PayloadScope"] = _one_of("scope", scope if scope is not None else "System", _SCOPES)
    elif scope is not None:
        raise ProfileError("scope (PayloadScope) applies to macOS profiles only")
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


def _apple_platform(platform: str) -> Platform:
    try:
        target = parse_platform(platform)
    except ValueError as error:
        raise ProfileError(str(error)) from None
    if target not in _TARGET_DEVICE_TYPE:
        raise ProfileError(f"the SSO extension profile is for ios or macos, not {target}")
    return target


def _extension_data(options: MicrosoftSsoOptions, platform: Platform) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in _EXTENSION_DATA_KEYS:
        value = getattr(options, spec.attribute)
        if value is None or (spec.kind is _Kind.BUNDLE_IDS and len(value) == 0):
            continue
        if platform not in spec.platforms:
            raise ProfileError(f"{spec.key} is documented for {_names(spec.platforms)} only, not {platform}")
        if spec.kind in (_Kind.FLAG, _Kind.BOOLEAN):
            if not isinstance(value, bool):
                raise ProfileError(f"{spec.attribute} must be true or false, not {value!r}")
            # bool is an int subclass and plistlib would write <true/>; the plug-in wants <integer>.
            data[spec.key] = int(value) if spec.kind is _Kind.FLAG else value
        else:
            pattern = _BUNDLE_PREFIX if spec.kind is _Kind.BUNDLE_PREFIXES else _BUNDLE_ID
            items = _bundle_ids(spec.attribute, value, pattern)
            if not items:
                raise ProfileError(f"{spec.attribute} must not be empty; leave it out for the default")
            data[spec.key] = ",".join(items)
    blocked_and_allowed = set(options.app_allow_list) & set(options.app_block_list)
    if blocked_and_allowed:
        raise ProfileError(f"apps both allowed and blocked: {', '.join(sorted(blocked_and_allowed))}")
    return data


def _bundle_ids(name: str, values: Sequence[str], pattern: re.Pattern[str]) -> list[str]:
    if isinstance(values, str):
        raise ProfileError(f"{name} must be a list of bundle identifiers, not one string")
    seen: list[str] = []
    for value in values:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ProfileError(f"{name}: {value!r} is not a bundle identifier (letters, digits, '-' and '.' only)")
        if value in seen:
            raise ProfileError(f"{name}: {value!r} is listed twice")
        seen.append(value)
    return seen


def _sovereign(urls: Sequence[str]) -> list[str]:
    if isinstance(urls, str):
        raise ProfileError("sovereign_urls must be a list of URLs, not one string")
    chosen: list[str] = []
    for url in urls:
        if url not in SOVEREIGN_SSO_URLS:
            raise ProfileError(
                f"{url!r} is not a sovereign-cloud sign-in URL Microsoft lists; expected one of: "
                f"{', '.join(SOVEREIGN_SSO_URLS)}"
            )
        if url in chosen:
            raise ProfileError(f"sovereign URL {url!r} is listed twice")
        chosen.append(url)
    return chosen


def _reverse_dns(identifier: str) -> str:
    if not isinstance(identifier, str) or not _REVERSE_DNS.fullmatch(identifier):
        raise ProfileError(f"identifier {identifier!r} is not a reverse-DNS identifier such as com.example.sso")
    return identifier


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{name} must be a non-empty string")
    if any(not char.isprintable() for char in value):
        raise ProfileError(f"{name} must not contain control characters")
    return value.strip()


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ProfileError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _uuid_factory(deterministic: bool) -> Callable[[str], str]:
    # Upper case as Apple's tools write them; the schema only asks for a globally unique string.
    if deterministic:
        return lambda name: str(uuid.uuid5(_UUID_NAMESPACE, name)).upper()
    return lambda _name: str(uuid.uuid4()).upper()


def _names(platforms: frozenset[Platform]) -> str:
    return ", ".join(p.value for p in Platform if p in platforms)


# --- Android: Workspace ONE Boxer managed app configuration --------------------------------------

BOXER_CA_DOC = (
    "Omnissa Docs, 'Configure Support for Entra ID Conditional Access Policies in Workspace ONE Boxer' "
    "(Boxer Admin Guide, chapter 'Application Configurations for Workspace ONE Boxer')"
)
_VMWARE_CA_DOC = (
    "https://docs.vmware.com/en/VMware-Workspace-ONE-UEM/services/Directory_Service_Integration/"
    "GUID-DirSvcUseComplianceDataInAzureConditionalAccessPolicies.html"
)
_ANDROID_BROKER_DOC = "https://docs.microsoft.com/en-us/azure/active-directory/develop/brokered-auth"


@dataclass(frozen=True)
class AppConfigPair:
    """One managed-app-configuration key/value pair, with where its name comes from."""

    key: str
    value: str
    source: str


@dataclass(frozen=True)
class AdminNote:
    """A line for the administrator where documentation gives no key to set."""

    text: str
    look_up: str | None = None
    """Where to find the missing fact."""


AppConfigEntry = AppConfigPair | AdminNote
_CONFIG_KEY = re.compile(r"[A-Za-z0-9_.-]+")


def android_boxer_config(*, verified_pairs: Sequence[tuple[str, str]] = ()) -> list[AppConfigEntry]:
    """The Boxer app configuration that makes Android Boxer use the broker for Conditional Access.

    The public material reviewed names no Boxer key for this switch, so the result carries notes:
    what to look up and which documented prerequisites must hold. An administrator who has looked
    the pair up passes it as `verified_pairs` and it is emitted as a pair, marked as theirs.
    """
    authenticator = BROKER_APPS[Platform.ANDROID]
    entries: list[AppConfigEntry] = []
    if isinstance(verified_pairs, str):
        raise ProfileError("verified_pairs must be a list of (key, value) pairs")
    seen: set[str] = set()
    for key, value in verified_pairs:
        if not _CONFIG_KEY.fullmatch(key):
            raise ProfileError(f"{key!r} is not a configuration key (letters, digits, '_', '.', '-')")
        if key in seen:
            raise ProfileError(f"configuration key {key!r} is given twice")
        if any(not char.isprintable() for char in value):
            raise ProfileError(f"the value of {key!r} must not contain control characters")
        seen.add(key)
        entries.append(AppConfigPair(key=key, value=value, source="supplied by the administrator"))
    if not entries:
        entries.append(
            AdminNote(
                text="LOOK UP: the Boxer key/value pair that switches Android Boxer to MSAL and the broker "
                "for Entra Conditional Access is not in the public documentation reviewed; take the key, "
                "its value and its type from the Omnissa page and add it to Boxer's assignment "
                "(Application Configuration).",
                look_up=BOXER_CA_DOC,
            )
        )
    entries.extend(
        [
            AdminNote(
                text=f"REQUIRED: {authenticator.name} ({authenticator.app_id}) on every Android device; "
                "on Android Enterprise deploy it, and every app used with Conditional Access, "
                "as a managed app.",
                look_up=_VMWARE_CA_DOC,
            ),
            AdminNote(
                text="BROKER: Android has one active broker, Microsoft Authenticator "
                "(com.azure.authenticator) or Company Portal (com.microsoft.windowsintune.companyportal), "
                "whichever was installed first or remains; uninstalling it removes its accounts.",
                look_up=_ANDROID_BROKER_DOC,
            ),
            AdminNote(
                text="REGISTER: before enforcing the policy, send users the registration link "
                f"{registration_link(Platform.ANDROID)} (Hub notification or web link).",
            ),
        ]
    )
    return entries
