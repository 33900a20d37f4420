"""Compliance page link tokens: one device, one organisation, until they expire, under one key."""

from __future__ import annotations

import datetime as dt

import pytest

from posturebridge.mdm.service.page_links import LinkRefused, issue, verify

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
KEY = "k" * 43


def test_a_link_opens_its_device_page_until_it_expires() -> None:
    token, expires = issue(KEY, "org-1", "device-1", NOW)
    assert expires == NOW + dt.timedelta(hours=24)
    granted = verify(KEY, token, "device-1", NOW + dt.timedelta(hours=23, minutes=59))
    assert (granted.organisation_id, granted.device_id, granted.expires) == ("org-1", "device-1", expires)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "carries no token"),
        ("other key", "signature does not verify"),
        ("other device", "for another device"),
        ("expired", "expired"),
        ("payload swapped", "signature does not verify"),
        ("not base64", "malformed"),
    ],
)
def test_anything_else_is_refused_with_the_reason(case: str, reason: str) -> None:
    token, _ = issue(KEY, "org-1", "device-1", NOW)
    other, _ = issue(KEY, "org-1", "device-2", NOW)
    tokens = {
        "missing": ("", "device-1", NOW),
        "other key": (issue("another key", "org-1", "device-1", NOW)[0], "device-1", NOW),
        "other device": (other, "device-1", NOW),
        "expired": (token, "device-1", NOW + dt.timedelta(hours=24)),
        "payload swapped": (other.split(".")[0] + "." + token.split(".")[1], "device-2", NOW),
        "not base64": ("%%%.%%%", "device-1", NOW),
    }
    given, device, now = tokens[case]
    with pytest.raises(LinkRefused, match=reason):
        verify(KEY, given, device, now)
