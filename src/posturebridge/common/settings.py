"""Settings from the environment (prefix ``POSTUREBRIDGE_``) and command-line flags, validated once.

Secrets never have a usable default: the embedded default generates them at random into the data
directory (mode 0600) on first start; a scaled deployment passes them explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Part = Literal["directory", "mdm", "partner"]
PARTS: tuple[Part, ...] = get_args(Part)

DEFAULT_PORTS: dict[Part, int] = {"directory": 8400, "mdm": 8401, "partner": 8402}


class Settings(BaseSettings):
    """Everything a posturebridge process needs to know at start."""

    model_config = SettingsConfigDict(env_prefix="POSTUREBRIDGE_", extra="ignore", validate_default=True)

    data_dir: Path = Field(default=Path(".posturebridge"), description="Where SQLite files, keys and demo.json live.")
    host: str = Field(default="127.0.0.1", min_length=1)
    directory_port: int = Field(default=DEFAULT_PORTS["directory"], ge=1, le=65535)
    mdm_port: int = Field(default=DEFAULT_PORTS["mdm"], ge=1, le=65535)
    partner_port: int = Field(default=DEFAULT_PORTS["partner"], ge=1, le=65535)
    directory_database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    mdm_database_url: str | None = None
    partner_database_url: str | None = None
    directory_tls: bool = Field(default=True, description="Serve the directory over HTTPS (msal requires it).")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "warning"

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    def port(self, part: Part) -> int:
        ports: dict[Part, int] = {
            "directory": self.directory_port,
            "mdm": self.mdm_port,
            "partner": self.partner_port,
        }
        return ports[part]

    def database_url(self, part: Part) -> str:
        explicit: dict[Part, str | None] = {
            "directory": self.directory_database_url,
            "mdm": self.mdm_database_url,
            "partner": self.partner_database_url,
        }
        return explicit[part] or f"sqlite:///{self.data_dir / f'{part}.db'}"

    def scheme(self, part: Part) -> str:
        return "https" if part == "directory" and self.directory_tls else "http"

    def url(self, part: Part) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme(part)}://{host}:{self.port(part)}"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def ca_bundle(self) -> Path:
        return self.tls_dir / "ca.pem"
