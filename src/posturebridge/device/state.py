"""The device agent's state file: what a simulated device must remember to survive a restart.

One JSON document per device: the MDM enrolment (device id and its bearer credential), the posture it
reports and the last sample sequence, the broker's device key (PEM), the Entra registration (tenant,
deviceId, device certificate) and the broker's refresh token. It holds secrets, so it is written with
mode 0600 and atomically (temporary file in the same folder, fsync, rename): a crash leaves either
the old file or the new one, never half of each.

Pure data plus two file functions; it never talks to the network.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

STATE_FORMAT_VERSION = 1
STATE_FILE_MODE = 0o600


class AgentStateError(ValueError):
    """A state file that is missing, unreadable or not one this agent wrote."""


@dataclass(frozen=True)
class AgentState:
    """Everything the agent knows about its device; every field after `platform` fills in as it goes."""

    platform: str
    """The MDM's platform spelling (``iOS``, ``iPadOS``, ``android``, ``macOS``, ``windows``, ``linux``)."""
    model: str
    os_version: str
    display_name: str
    mdm_device_id: str | None = None
    mdm_device_token: str | None = field(default=None, repr=False)
    user_name: str | None = None
    """The MDM user the device was enrolled for."""
    posture: dict[str, Any] = field(default_factory=dict)
    """The posture fields the device reports at each check-in (the MDM's wire names)."""
    sample_sequence: int = 0
    """The last sequence handed to a sample; the next sample uses a higher one."""
    device_key_pem: str | None = field(default=None, repr=False)
    tenant_id: str | None = None
    entra_device_id: str | None = None
    trust_type: str | None = None
    device_certificate: str | None = None
    """Standard base64 of the DER device certificate the DRS issued."""
    entra_device_id_reported: bool = False
    """Whether the MDM acknowledged the Entra device ID (the registration callback)."""
    user_principal_name: str | None = None
    """The Entra user the broker signed in at registration."""
    refresh_token: str | None = field(default=None, repr=False)

    def to_json(self) -> str:
        return json.dumps({"version": STATE_FORMAT_VERSION, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AgentState:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise AgentStateError(f"the state file is not JSON: {error}") from None
        if not isinstance(data, dict) or data.get("version") != STATE_FORMAT_VERSION:
            raise AgentStateError(f"the state file is not a version {STATE_FORMAT_VERSION} device agent state")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"version"}
        if unknown:
            raise AgentStateError(f"the state file has unknown fields: {', '.join(sorted(unknown))}")
        values = {name: value for name, value in data.items() if name in known}
        try:
            return cls(**values)
        except TypeError as error:
            raise AgentStateError(f"the state file is incomplete: {error}") from None


def save_state(path: Path, state: AgentState) -> None:
    """Replace the state file atomically; the file is readable and writable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(descriptor, STATE_FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(state.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def load_state(path: Path) -> AgentState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentStateError(f"no device agent state at {path}") from None
    return AgentState.from_json(text)


def _fsync_directory(folder: Path) -> None:
    # The rename is durable only once the directory entry is; not every platform can open a directory.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
