"""Reading JSON-like dicts into domain values, with errors that name the field path.

Only this module and the ``from_dict``/``to_dict`` methods know wire names; the rest of the domain works
on typed values. Unknown keys are refused so that a misspelt rule parameter cannot silently loosen a
policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import TypeVar

from .errors import FieldError, InvalidOsVersionError, ValidationError, join_path
from .types import JsonValue
from .version import OsVersion, parse_os_version
from .vocabulary import Platform

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


class Problems:
    """Collects field errors across independent parts of a document, so one response lists them all."""

    def __init__(self) -> None:
        self._errors: list[FieldError] = []

    def collect(self, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except ValidationError as error:
            self._errors.extend(error.errors)
            return None

    def add(self, error: ValidationError) -> None:
        self._errors.extend(error.errors)

    def raise_if_any(self) -> None:
        if self._errors:
            raise ValidationError(self._errors)


class Fields:
    """A view of one JSON object at ``path``; every read marks the key as known."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise ValidationError.at(path, "expected an object")
        self._data: Mapping[str, object] = data
        self._path = path
        self._known: set[str] = set()

    def path(self, key: str) -> str:
        return join_path(self._path, key)

    def _get(self, key: str) -> object:
        self._known.add(key)
        return self._data.get(key)

    def _missing(self, key: str) -> ValidationError:
        return ValidationError.at(self.path(key), "is required")

    def text(self, key: str, *, max_length: int = 256) -> str:
        value = self.optional_text(key, max_length=max_length)
        if value is None:
            raise self._missing(key)
        return value

    def optional_text(self, key: str, *, max_length: int = 256, allow_empty: bool = False) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError.at(self.path(key), "must be a string")
        if not allow_empty and not value.strip():
            raise ValidationError.at(self.path(key), "must not be empty")
        if len(value) > max_length:
            raise ValidationError.at(self.path(key), f"must be at most {max_length} characters")
        return value

    def integer(self, key: str, *, minimum: int, maximum: int, default: int | None = None) -> int:
        value = self.optional_integer(key, minimum=minimum, maximum=maximum)
        if value is None:
            if default is None:
                raise self._missing(key)
            return default
        return value

    def optional_integer(self, key: str, *, minimum: int, maximum: int) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        # bool is an int in Python but never a count on the wire.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError.at(self.path(key), "must be an integer")
        if not minimum <= value <= maximum:
            raise ValidationError.at(self.path(key), f"must be between {minimum} and {maximum}")
        return value

    def boolean(self, key: str, *, default: bool | None = None) -> bool:
        value = self.optional_boolean(key)
        if value is None:
            if default is None:
                raise self._missing(key)
            return default
        return value

    def optional_boolean(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None or isinstance(value, bool):
            return value
        raise ValidationError.at(self.path(key), "must be true, false or null")

    def enum(self, key: str, kind: type[E], *, default: E | None = None) -> E:
        value = self.optional_enum(key, kind)
        if value is None:
            if default is None:
                raise self._missing(key)
            return default
        return value

    def optional_enum(self, key: str, kind: type[E]) -> E | None:
        value = self._get(key)
        if value is None:
            return None
        for member in kind:
            if member.value == value:
                return member
        allowed = ", ".join(str(m.value) for m in kind)
        raise ValidationError.at(self.path(key), f"{value!r} is not one of: {allowed}")

    def text_list(self, key: str, *, required: bool = False, non_empty: bool = False) -> tuple[str, ...]:
        value = self.optional_text_list(key)
        if value is None:
            if required:
                raise self._missing(key)
            return ()
        if non_empty and not value:
            raise ValidationError.at(self.path(key), "must list at least one value")
        return value

    def optional_text_list(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValidationError.at(self.path(key), "must be a list of strings")
        problems = Problems()
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                problems.add(ValidationError.at(f"{self.path(key)}[{index}]", "must be a non-empty string"))
        problems.raise_if_any()
        return tuple(str(item) for item in value)

    def objects(self, key: str, *, required: bool = False) -> Iterator[tuple[str, object]]:
        """(path, item) for each element of a list of objects; items are checked by the caller."""
        value = self._get(key)
        if value is None:
            if required:
                raise self._missing(key)
            return
        if not isinstance(value, list):
            raise ValidationError.at(self.path(key), "must be a list")
        for index, item in enumerate(value):
            yield f"{self.path(key)}[{index}]", item

    def nested(self, key: str, *, required: bool = False) -> Fields | None:
        value = self._get(key)
        if value is None:
            if required:
                raise self._missing(key)
            return None
        return Fields(value, self.path(key))

    def entries(self, key: str) -> Iterator[tuple[str, str, object]]:
        """(name, path, value) for each member of an object used as a map (names are data, not fields)."""
        value = self._get(key)
        if value is None:
            return
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ValidationError.at(self.path(key), "expected an object")
        for name, item in value.items():
            yield name, join_path(self.path(key), name), item

    def timestamp(self, key: str) -> dt.datetime:
        value = self.optional_timestamp(key)
        if value is None:
            raise self._missing(key)
        return value

    def optional_timestamp(self, key: str) -> dt.datetime | None:
        value = self._get(key)
        return None if value is None else parse_timestamp(value, self.path(key))

    def optional_date(self, key: str) -> dt.date | None:
        value = self.optional_text(key, max_length=16)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError.at(self.path(key), f"{value!r} is not a date (YYYY-MM-DD)") from None

    def os_version(self, key: str, platform: Platform) -> OsVersion:
        value = self.optional_os_version(key, platform)
        if value is None:
            raise self._missing(key)
        return value

    def optional_os_version(self, key: str, platform: Platform) -> OsVersion | None:
        value = self.optional_text(key, max_length=64)
        if value is None:
            return None
        try:
            return parse_os_version(platform, value)
        except InvalidOsVersionError as error:
            raise ValidationError.at(self.path(key), str(error)) from None

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._data) - self._known)
        if unknown:
            raise ValidationError([FieldError(self.path(key), "is not a known field") for key in unknown])


def parse_timestamp(value: object, path: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        raise ValidationError.at(path, "must be an ISO 8601 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError.at(path, f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValidationError.at(path, "must carry a UTC offset, e.g. 2024-05-01T10:00:00Z")
    return parsed


def format_timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as Graph writes ``DateTimeOffset`` values."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def require_aware(value: dt.datetime, name: str) -> None:
    """The domain compares instants; a naive datetime would silently mean local time."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware")


def json_list(values: tuple[str, ...] | frozenset[str]) -> list[JsonValue]:
    return list(sorted(values) if isinstance(values, frozenset) else values)
