"""Delivery channels: how one platform's device state reaches the directory. A registry keyed by platform.

- ``windows``: Graph ``PATCH /devices`` as the tenant's MDM application, batched by 20 (``windows.py``);
- ``intune``: the Intune partner compliance channel for iOS/iPadOS, Android, macOS and Linux
  (``intune.py``).

A channel answers every claimed item with a :class:`Delivery`: the status the retry policy judges, the
error to show, and a record of every call made for the device's CA log. Channels never touch the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from posturebridge.partner.queue import CallRecordIn, Claimed

if TYPE_CHECKING:
    from posturebridge.partner.shadow import ShadowRecordIn

WINDOWS = "windows"
INTUNE = "intune"

# MDM platform (posturebridge.mdm vocabulary) -> channel name.
DEFAULT_ROUTES: dict[str, str] = {
    "windows": WINDOWS,
    "iOS": INTUNE,
    "iPadOS": INTUNE,
    "android": INTUNE,
    "macOS": INTUNE,
    "linux": INTUNE,
}


@dataclass(frozen=True)
class Delivery:
    """What happened to one claimed item."""

    item: Claimed
    status: int
    """The status the retry policy judges: 2xx delivered, 0 no usable answer, else the HTTP status."""
    retry_after: str | None = None
    error: str | None = None
    calls: tuple[CallRecordIn, ...] = field(default=())
    throttled_channel: bool = False
    """The channel's own request was throttled (a whole $batch got 429): hold the channel, not just the item."""
    shadow: ShadowRecordIn | None = None
    """Shadow mode: what would have been written; the item is recorded as shadowed, not as written."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Channel(Protocol):
    name: str
    chunk_size: int
    """Items per ``deliver`` call (a Graph $batch holds 20)."""

    def deliver(self, items: Sequence[Claimed]) -> list[Delivery]:
        """Deliver ``items`` (at most ``chunk_size``); one Delivery per item, in any order."""
        ...


class ChannelRegistry:
    """Channels by name, and which channel serves which platform."""

    def __init__(self, routes: dict[str, str] | None = None) -> None:
        self._routes = dict(routes or DEFAULT_ROUTES)
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel, platforms: Iterable[str] | None = None) -> None:
        self._channels[channel.name] = channel
        for platform in platforms or ():
            self._routes[platform] = channel.name

    def route(self, platform: str) -> str | None:
        """The channel name for an MDM platform (None: the platform is not delivered)."""
        return self._routes.get(platform)

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._channels)

    def replaced(self, make: Callable[[str], Channel]) -> ChannelRegistry:
        """The same routes, every channel replaced by ``make(name)`` (shadow mode's stand-ins)."""
        copy = ChannelRegistry(self._routes)
        for name in self.names:
            copy.register(make(name))
        return copy
