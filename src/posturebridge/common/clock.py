"""The clock is a port: domain code takes ``now`` as an argument; edges read it here."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment with its zone: SQLite hands datetimes back without one, and they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def graph_datetime(moment: dt.datetime | None) -> str | None:
    """Graph's DateTimeOffset form: ISO 8601 in UTC with a ``Z``, e.g. ``2024-01-01T00:00:00Z``."""
    if moment is None:
        return None
    text = aware(moment).astimezone(dt.UTC).isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")
