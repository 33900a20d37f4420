"""Shared secrets of the embedded default, kept as files (mode 0600) in the data directory.

Two processes that share a data directory (the MDM and the partner service started by ``posturebridge up``)
read the same key: whichever comes first creates it, atomically, and the other reads it. A scaled
deployment passes the key in its settings instead and never touches the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def shared_key(path: Path) -> str:
    """The key in ``path``, created at random on first use."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(tmp, path)  # fails if another process created it meanwhile: then that key wins
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise FileNotFoundError(path)
    return value
