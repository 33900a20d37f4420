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
    workflow_interval_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="How often queued workflow runs and feed transitions are taken."
    )
    workflow_schedule_interval_seconds: float = Field(
        default=60.0, gt=0, le=86400, description="How often scheduled workflow triggers are evaluated."
    )
    connector_max_attempts: int = Field(default=5, ge=1, le=50, description="Attempts of a failing connector run.")
    connector_retry_base_seconds: float = Field(default=2.0, gt=0, description="First retry delay (doubles after).")
    connector_retry_cap_seconds: float = Field(default=300.0, gt=0)
    partner_url: str | None = Field(default=None, description="The compliance partner service (default: local).")
    partner_registration_key: str | None = Field(
        default=None, description="Key for the partner's registration API (default: the data directory's file)."
    )
    public_url: str | None = Field(default=None, description="This MDM's URL as the partner reaches it.")
    compliance_page_key: str | None = Field(
        default=None, description="Signs the compliance page links (default: the data directory's file)."
    )

    @property
    def feed_retention(self) -> dt.timedelta:
        return dt.timedelta(hours=self.feed_retention_hours)
