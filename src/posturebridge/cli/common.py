"""Helpers shared by the command modules: settings from flags, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from posturebridge.common.errors import StartupError
from posturebridge.common.settings import Settings


def load_settings(**flags: Any) -> Settings:
    """Settings from the environment, with the flags that were given taking precedence."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        raise StartupError(f"invalid setting {field}: {first['msg']}") from None


DataDirOption = Path
