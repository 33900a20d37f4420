"""The clock is a port: domain code takes ``now`` as an argument; edges read it here."""

from __future__ import annotations

import datetime as dt
from typing import overload


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def aware(moment: dt.datetime) -> dt.datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: dt.datetime | None) -> dt.datetime | None: ...
def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored moment with its zone: SQLite hands datetimes back without one, and they were stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def graph_datetime(moment: dt.datetime | None) -> str | None:
    """Graph's DateTimeOffset form: ISO 8601 in UTC with a ``Z``, e.g. ``2024-01-01T00:00:00Z``."""
    if moment is None:
        return None
    text = aware(moment).astimezone(dt.UTC).isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
