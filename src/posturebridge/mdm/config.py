"""MDM-only settings from the environment (prefix ``POSTUREBRIDGE_MDM_``), read once by the app factory."""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MdmConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTUREBRIDGE_MDM_", extra="ignore")

    feed_retention_hours: float = Field(default=7 * 24, gt=0, description="How long feed entries are kept.")
    sweep_interval_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="How often due devices are re-evaluated (grace ends, validity)."
    )
    feed_poll_interval_seconds: float = Field(
        default=0.2, gt=0, le=10, description="Long-poll re-check for entries committed by other MDM processes."
    )
    feed_prune_interval_seconds: float = Field(default=60.0, gt=0)

    @property
    def feed_retention(self) -> dt.timedelta:
        return dt.timedelta(hours=self.feed_retention_hours)
