"""The device platforms of the partner-compliance flow and the broker app each one needs.

One table, used by the deep links (which broker a registration link hands over to) and the
configuration profiles (which SSO extension to name). Pure data: no I/O.

Sources: the seed tutorial ("Old link format for reference": the required broker app per platform)
and Microsoft's Enterprise SSO plug-in page
(https://learn.microsoft.com/entra/identity-platform/apple-sso-plugin, "Manual configuration for
other MDM services") for the extension identifiers and the macOS team identifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Platform(StrEnum):
    """A platform the Workspace ONE partner-compliance integration covers (Windows has its own flow)."""

    ANDROID = "android"
    IOS = "ios"
    MACOS = "macos"


class UnknownPlatformError(ValueError):
    """The caller named a platform this flow does not cover."""


def parse_platform(value: str | Platform) -> Platform:
    """Platform from its name (`android`, `ios`, `macos`, any case); refuses anything else."""
    if isinstance(value, Platform):
        return value
    try:
        return Platform(value.strip().lower())
    except ValueError:
        expected = ", ".join(p.value for p in Platform)
        raise UnknownPlatformError(f"unknown platform {value!r}; expected one of: {expected}") from None


@dataclass(frozen=True)
class BrokerApp:
    """The Microsoft app that hosts the authentication broker on one platform."""

    platform: Platform
    name: str
    app_id: str
    """Android package name or Apple bundle identifier."""
    needed_for_registration: bool
    """False on macOS: Company Portal is only needed for the SSO extension, Hub registers (seed)."""
    sso_extension_identifier: str | None = None
    """Bundle id of the app's Enterprise SSO extension (Apple platforms only)."""
    team_identifier: str | None = None
    """Apple team id Microsoft documents for the extension; iOS needs none."""


BROKER_APPS: Mapping[Platform, BrokerApp] = MappingProxyType(
    {
        Platform.ANDROID: BrokerApp(
            platform=Platform.ANDROID,
            name="Microsoft Authenticator",
            app_id="com.azure.authenticator",
            needed_for_registration=True,
        ),
        Platform.IOS: BrokerApp(
            platform=Platform.IOS,
            name="Microsoft Authenticator",
            app_id="com.microsoft.azureauthenticator",
            needed_for_registration=True,
            sso_extension_identifier="com.microsoft.azureauthenticator.ssoextension",
        ),
        Platform.MACOS: BrokerApp(
            platform=Platform.MACOS,
            name="Microsoft Company Portal",
            app_id="com.microsoft.CompanyPortalMac",
            needed_for_registration=False,
            sso_extension_identifier="com.microsoft.CompanyPortalMac.ssoextension",
            team_identifier="UBF8T346G9",
        ),
    }
)
