"""Signed, expiring links to a device's compliance page: the only credential the page accepts.

A link token names one device of one organisation and an expiry, signed with HMAC-SHA256 under the MDM's
page key: ``base64url(payload) "." base64url(mac)``. The device agent (with its device credential) or an
administrator asks for a link; whoever holds it may read that one device's page until it expires, and
nothing else. A token that is malformed, tampered with, signed under another key, expired or for another
device is refused with the reason (`LinkRefused`), never half-checked. Pure: the key and the clock are
arguments.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

LINK_LIFETIME = dt.timedelta(hours=24)


class LinkRefused(Exception):
    """The link token does not open the page; the message says why (for the log and the 403 page)."""


@dataclass(frozen=True)
class PageLink:
    organisation_id: str
    device_id: str
    expires: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: str) -> bytes:
    return hmac.new(key.encode(), b"posturebridge compliance page|" + payload.encode("ascii"), hashlib.sha256).digest()


def issue(
    key: str, organisation_id: str, device_id: str, now: dt.datetime, lifetime: dt.timedelta = LINK_LIFETIME
) -> tuple[str, dt.datetime]:
    """A token for `device_id`'s page and when it expires."""
    expires = (now + lifetime).replace(microsecond=0)
    body = {"o": organisation_id, "d": device_id, "exp": int(expires.timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(key, payload))}", expires


def verify(key: str, token: str | None, device_id: str, now: dt.datetime) -> PageLink:
    """The link `token` stands for, if it opens `device_id`'s page now; else `LinkRefused`."""
    if not token:
        raise LinkRefused("the link carries no token")
    payload, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
        body = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise LinkRefused("the link token is malformed") from None
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise LinkRefused("the link token's signature does not verify")
    if not isinstance(body, dict) or not all(isinstance(body.get(name), str) for name in ("o", "d")):
        raise LinkRefused("the link token is malformed")
    expiry = body.get("exp")
    if not isinstance(expiry, int) or isinstance(expiry, bool):
        raise LinkRefused("the link token is malformed")
    expires = dt.datetime.fromtimestamp(expiry, tz=dt.UTC)
    if expires <= now:
        raise LinkRefused("the link has expired")
    if body["d"] != device_id:
        raise LinkRefused("the link is for another device")
    return PageLink(body["o"], body["d"], expires)
