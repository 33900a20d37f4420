"""Registration deep links: the URLs that make Intelligent Hub start Entra device registration.

The seed tutorial names three forms (section "All should work now with ... Old link format"):

- ``wsonehub://conditionalaccess?partner=Microsoft``, current, every platform;
- ``awagent://com.airwatch.androidagent?component=conditionalaccess&partnertype=microsoft``, legacy Android;
- ``airwatch://conditionalaccess?partner=microsoft``, legacy iOS.

Parsing is strict on purpose: a link this module accepts is one of those forms, so a typo in a
notification template is refused where it is written, not on a user's phone. Pure: it never opens a
link and does no I/O.

What is and is not documented (shared reference sso-profiles.md section 4): the ``wsonehub`` form is
seen in Omnissa material and a public macOS script; the parameter names of the two legacy forms come
only from the seed. The casing of the partner value differs between sources (``Microsoft`` /
``microsoft``), so values are compared case-insensitively (inferred); parameter names are exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from posturebridge.device.platforms import BROKER_APPS, BrokerApp, Platform, parse_platform


class LinkForm(StrEnum):
    HUB = "hub"
    LEGACY_ANDROID = "legacy-android"
    LEGACY_IOS = "legacy-ios"


class Partner(StrEnum):
    """Compliance partner a registration link targets; the seed documents only Microsoft."""

    MICROSOFT = "Microsoft"


class DeepLinkError(ValueError):
    """A link that is not one of the known registration links; `part` names what is wrong."""

    def __init__(self, message: str, *, part: str, link: str | None = None) -> None:
        super().__init__(message)
        self.part = part
        self.link = link


@dataclass(frozen=True)
class _LinkSpec:
    form: LinkForm
    scheme: str
    host: str
    host_label: str
    """What the host position holds, for error messages."""
    fixed_parameters: Mapping[str, str]
    """Parameters whose value is fixed by the form (compared case-insensitively)."""
    partner_parameter: str
    partner_spelling: str
    """How the seed writes the (Microsoft) partner value in this form; the builder copies it."""
    platforms: frozenset[Platform]

    @property
    def parameters(self) -> tuple[str, ...]:
        return (*self.fixed_parameters, self.partner_parameter)


# The registry of link forms; adding a form is adding a row.
_SPECS: tuple[_LinkSpec, ...] = (
    _LinkSpec(
        form=LinkForm.HUB,
        scheme="wsonehub",
        host="conditionalaccess",
        host_label="host",
        fixed_parameters=MappingProxyType({}),
        partner_parameter="partner",
        partner_spelling="Microsoft",
        platforms=frozenset(Platform),
    ),
    _LinkSpec(
        form=LinkForm.LEGACY_ANDROID,
        scheme="awagent",
        # The Android Hub (AirWatch Agent) package name stands where a host would be.
        host="com.airwatch.androidagent",
        host_label="app package",
        fixed_parameters=MappingProxyType({"component": "conditionalaccess"}),
        partner_parameter="partnertype",
        partner_spelling="microsoft",
        platforms=frozenset({Platform.ANDROID}),
    ),
    _LinkSpec(
        form=LinkForm.LEGACY_IOS,
        scheme="airwatch",
        host="conditionalaccess",
        host_label="host",
        fixed_parameters=MappingProxyType({}),
        partner_parameter="partner",
        partner_spelling="microsoft",
        platforms=frozenset({Platform.IOS}),
    ),
)
_SCHEMES = tuple(dict.fromkeys(spec.scheme for spec in _SPECS))
_PARTNERS_BY_FOLDED_NAME = {partner.value.casefold(): partner for partner in Partner}


@dataclass(frozen=True)
class RegistrationLink:
    """A parsed registration link and what it means for the device that follows it."""

    url: str
    form: LinkForm
    partner: Partner
    platforms: frozenset[Platform]
    """Platforms on which Hub understands this form."""
    brokers: tuple[BrokerApp, ...] = field(repr=False)
    """The broker app the seed names for each of those platforms (Android, iOS, macOS order)."""

    def broker_for(self, platform: Platform | str) -> BrokerApp:
        """The broker app this link hands over to on `platform`; refuses a platform the form excludes."""
        wanted = parse_platform(platform)
        for broker in self.brokers:
            if broker.platform is wanted:
                return broker
        raise DeepLinkError(
            f"a {self.form} link is not for {wanted}; it works on {_names(self.platforms)}",
            part="platform",
            link=self.url,
        )


def parse_registration_link(link: str, *, platform: Platform | str | None = None) -> RegistrationLink:
    """Parse a registration deep link, refusing anything that is not exactly one of the known forms.

    With `platform`, also refuse a form that platform's Hub does not understand (a legacy iOS link
    sent to an Android device, for instance).
    """
    if not isinstance(link, str):
        raise DeepLinkError(f"a deep link must be a string, not {type(link).__name__}", part="link")
    _refuse_unsafe_characters(link)
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    candidates = [spec for spec in _SPECS if spec.scheme == scheme]
    if not candidates:
        shown = parts.scheme or "(none)"
        raise DeepLinkError(
            f"unknown scheme {shown!r}; expected one of: {', '.join(_SCHEMES)}", part="scheme", link=link
        )
    spec = _match_host(parts, candidates, link)
    _refuse_extras(parts, link)
    values = _parameters(parts.query, spec, link)
    for name, expected in spec.fixed_parameters.items():
        if values[name].casefold() != expected.casefold():
            raise DeepLinkError(f"unknown {name} {values[name]!r}; expected {expected!r}", part=name, link=link)
    partner = _PARTNERS_BY_FOLDED_NAME.get(values[spec.partner_parameter].casefold())
    if partner is None:
        raise DeepLinkError(
            f"unknown partner {values[spec.partner_parameter]!r}; expected one of: "
            f"{', '.join(p.value for p in Partner)}",
            part="partner",
            link=link,
        )
    result = RegistrationLink(
        url=link,
        form=spec.form,
        partner=partner,
        platforms=spec.platforms,
        brokers=tuple(BROKER_APPS[p] for p in Platform if p in spec.platforms),
    )
    if platform is not None:
        result.broker_for(platform)
    return result


def registration_link(platform: Platform | str, *, legacy: bool = False) -> str:
    """The registration link to put in a Hub notification for `platform`.

    The current ``wsonehub`` form by default; `legacy` gives the old per-platform form, which exists
    for Android and iOS only.
    """
    wanted = parse_platform(platform)
    if legacy:
        specs = [s for s in _SPECS if s.form is not LinkForm.HUB and wanted in s.platforms]
        if not specs:
            raise DeepLinkError(
                f"there is no legacy registration link for {wanted}; use the wsonehub form",
                part="platform",
            )
        spec = specs[0]
    else:
        spec = next(s for s in _SPECS if s.form is LinkForm.HUB)
    query = urlencode([*spec.fixed_parameters.items(), (spec.partner_parameter, spec.partner_spelling)])
    return f"{spec.scheme}://{spec.host}?{query}"


def _refuse_unsafe_characters(link: str) -> None:
    if not link:
        raise DeepLinkError("the link is empty", part="link", link=link)
    # urlsplit silently drops tabs and newlines and strips leading blanks, so check before it runs.
    for index, char in enumerate(link):
        if char.isspace() or not char.isprintable() or not char.isascii():
            raise DeepLinkError(
                f"the link contains {char!r} at position {index}; a deep link is printable ASCII without spaces",
                part="link",
                link=link,
            )


def _match_host(parts: SplitResult, candidates: list[_LinkSpec], link: str) -> _LinkSpec:
    netloc = parts.netloc
    if "@" in netloc:
        raise DeepLinkError("the link must not carry user information", part="host", link=link)
    if ":" in netloc:
        raise DeepLinkError("the link must not carry a port", part="host", link=link)
    # Hosts are case-insensitive (RFC 3986 section 3.2.2); everything after them is not.
    host = netloc.lower()
    for spec in candidates:
        if spec.host == host:
            return spec
    expected = ", ".join(repr(spec.host) for spec in candidates)
    shown = netloc or "(none)"
    raise DeepLinkError(
        f"unknown {candidates[0].host_label} {shown!r} for scheme {candidates[0].scheme!r}; expected {expected}",
        part="host",
        link=link,
    )


def _refuse_extras(parts: SplitResult, link: str) -> None:
    if parts.path:
        raise DeepLinkError(f"unexpected path {parts.path!r}", part="path", link=link)
    if "#" in link:
        raise DeepLinkError("unexpected fragment", part="fragment", link=link)


def _parameters(query: str, spec: _LinkSpec, link: str) -> dict[str, str]:
    if not query:
        raise DeepLinkError(f"missing query; expected {_expected_query(spec)}", part="parameter", link=link)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise DeepLinkError(
            f"malformed query {query!r}; expected {_expected_query(spec)}", part="parameter", link=link
        ) from None
    counts = Counter(name for name, _ in pairs)
    for name, count in counts.items():
        if name not in spec.parameters:
            raise DeepLinkError(
                f"unexpected parameter {name!r}; a {spec.form} link takes only {_expected_query(spec)}",
                part="parameter",
                link=link,
            )
        if count > 1:
            raise DeepLinkError(f"parameter {name!r} appears {count} times", part="parameter", link=link)
    values = dict(pairs)
    for name in spec.parameters:
        if name not in values:
            raise DeepLinkError(f"missing parameter {name!r}", part="parameter", link=link)
        if not values[name]:
            raise DeepLinkError(f"parameter {name!r} is empty", part="parameter", link=link)
    return values


def _expected_query(spec: _LinkSpec) -> str:
    return "&".join(f"{name}=..." for name in spec.parameters)


def _names(platforms: frozenset[Platform]) -> str:
    return ", ".join(p.value for p in Platform if p in platforms)
