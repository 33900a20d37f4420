"""The MDM domain's errors: data with a stable ``code``, translated to HTTP in one place by the API.

Every error here is a ``MdmDomainError``; none carries an HTTP status, which is the API's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MdmDomainError(Exception):
    code = "mdmDomainError"


@dataclass(frozen=True)
class FieldError:
    """One problem in an input document, at ``path`` (``rules[2].version``; empty for the root)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(MdmDomainError, ValueError):
    """An input (policy, sample, settings…) is not acceptable; ``errors`` names every field at fault."""

    code = "validationError"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        if not errors:
            raise ValueError("a ValidationError needs at least one FieldError")
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    @classmethod
    def at(cls, path: str, message: str) -> ValidationError:
        return cls([FieldError(path, message)])

    def under(self, prefix: str) -> ValidationError:
        """The same errors with their paths nested under ``prefix``."""
        return ValidationError([FieldError(join_path(prefix, e.path), e.message) for e in self.errors])


class InvalidOsVersionError(MdmDomainError, ValueError):
    """A version string that no release of the platform has ever had (or could have)."""

    code = "invalidOsVersion"

    def __init__(self, platform: str, text: str, reason: str) -> None:
        self.platform = platform
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r} is not a valid {platform} version: {reason}")


class SampleRejectedError(MdmDomainError):
    """A posture sample refused outright (as opposed to a stale one, which is merely ignored)."""

    code = "sampleRejected"


class SampleReplayedError(SampleRejectedError):
    code = "sampleReplayed"

    def __init__(self, nonce: str, sequence: int, reason: str) -> None:
        self.nonce = nonce
        self.sequence = sequence
        super().__init__(f"posture sample {sequence} (nonce {nonce!r}) is a replay: {reason}")


class SampleFromTheFutureError(SampleRejectedError):
    code = "sampleFromTheFuture"


class ImmutableIdMissingError(MdmDomainError):
    """The MDM user record lacks the attribute chosen as the Entra immutable ID."""

    code = "immutableIdMissing"

    def __init__(self, user_id: str, attribute: str) -> None:
        self.user_id = user_id
        self.attribute = attribute
        super().__init__(
            f"user {user_id!r} has no value for {attribute!r}, the attribute mapped to the Entra "
            "immutable ID; sync the user's directory attributes or change the immutable ID mapping"
        )


class ImmutableIdInvalidError(MdmDomainError):
    """The mapped attribute holds a value that cannot be the declared data type."""

    code = "immutableIdInvalid"

    def __init__(self, user_id: str, attribute: str, reason: str) -> None:
        self.user_id = user_id
        self.attribute = attribute
        super().__init__(f"user {user_id!r}: {attribute!r} {reason}")


def join_path(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"
