"""What the partner service's delivery needs to know at start: the MDM, the directory (or real Microsoft
Graph), the partner application's credentials and the queue's limits. Environment prefix
``POSTUREBRIDGE_PARTNER_``; validated once, in the composition root.

Two applications write to the directory, as in a real tenant:

- the *partner application* (``client_id`` + secret or certificate) talks to Graph and to the Intune
  partner endpoints for iOS, Android, macOS and Linux devices;
- the *Windows MDM application* (``windows_client_id`` + secret or certificate; the application added
  under Mobility (MDM and MAM), on premises a custom one) writes ``isManaged``/``isCompliant`` of Windows
  devices with ``PATCH /devices``. When it is not set the partner application is used for both.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from posturebridge.partner.pacing import PacingConfig

GRAPH_URL = "https://graph.microsoft.com"
AUTHORITY_HOST = "https://login.microsoftonline.com"
INTUNE_RESOURCE = "https://api.manage.microsoft.com/"


class PartnerSettings(BaseSettings):
    """Settings of the delivery worker, reconcile and dead-letter commands."""

    model_config = SettingsConfigDict(env_prefix="POSTUREBRIDGE_PARTNER_", extra="ignore", validate_default=True)

    database_url: str | None = Field(default=None, description="The partner database (default SQLite in data_dir).")
    data_dir: Path = Path(".posturebridge")

    mdm_url: str = "http://127.0.0.1:8401"
    mdm_client_id: str | None = None
    mdm_client_secret: str | None = None
    mdm_api_key: str | None = None

    tenant_id: str | None = Field(default=None, description="The Entra tenant (directory) id.")
    graph_url: str = Field(default=GRAPH_URL, description="Graph base URL without the version.")
    authority_host: str = Field(default=AUTHORITY_HOST, description="Token authority without the tenant.")
    intune_resource: str = Field(default=INTUNE_RESOURCE, description="Resource of the Intune partner endpoints.")
    client_id: str | None = None
    client_secret: str | None = None
    certificate_path: Path | None = Field(default=None, description="PEM with the private key and certificate.")
    certificate_thumbprint: str | None = Field(default=None, description="SHA-1 thumbprint (hex) of that certificate.")
    windows_client_id: str | None = None
    windows_client_secret: str | None = None
    windows_certificate_path: Path | None = None
    windows_certificate_thumbprint: str | None = None
    ca_bundle: Path | None = Field(default=None, description="CA certificates to trust for the directory (PEM).")

    intune_group: str | None = Field(default=None, description="Group (id or displayName) the partner policy targets.")
    enrollment_url: str = "https://posturebridge.invalid/partner/enroll"
    remediation_url: str = "https://posturebridge.invalid/partner/remediate"
    directory_sync_minutes: float = Field(
        default=15.0,
        ge=0,
        description="Users in scope and licences are read again at least this often (0: no scope/link checks).",
    )
    compliance_partner_name: str | None = Field(
        default=None, description="displayName of the complianceManagementPartner record (default: every record)."
    )

    shadow_mode: bool = Field(
        default=False,
        description="Record what would be written and who would lose access (What If) instead of writing.",
    )
    max_attempts: int = Field(default=10, ge=1, description="Failed attempts before an item is dead-lettered.")
    concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight at once.")
    batch_size: int = Field(default=20, ge=1, le=20, description="Graph $batch size (20 at most).")
    lease_seconds: float = Field(default=120.0, gt=0)
    feed_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    feed_page_size: int = Field(default=500, ge=1, le=1000)
    idle_seconds: float = Field(default=0.5, gt=0, description="Longest sleep of an idle delivery loop.")
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    backoff_cap_seconds: float = Field(default=300.0, gt=0)
    pacing_enabled: bool = Field(
        default=True, description="Pace the Graph channels to the directory's write limit (pacing.py)."
    )
    pacing_initial_rate: float = Field(
        default=20.0,
        gt=0,
        description="Requests/s per tenant and channel to start at; Graph documents 3,000 writes per 150 s.",
    )
    pacing_min_rate: float = Field(default=2.0, gt=0, description="The pacer never goes slower than this.")
    pacing_max_rate: float = Field(default=5000.0, gt=0, description="Nor faster than this.")
    pacing_increase_per_second: float = Field(
        default=0.05, ge=0, description="Requests/s the rate probes up per second of clean answers."
    )
    message_poll_seconds: float = Field(default=1.0, gt=0, description="Interval between upload status polls.")
    message_timeout_seconds: float = Field(default=120.0, gt=0)
    request_timeout_seconds: float = Field(default=30.0, gt=0)

    # The partner service (``posturebridge up`` / ``serve partner``): organisations onboarded over its API.
    registration_key: str | None = Field(
        default=None, description="Key the MDM presents to register organisations (default: a file in data_dir)."
    )
    public_url: str | None = Field(default=None, description="Where browsers reach this service (consent callback).")
    org_database_url: str | None = Field(
        default=None, description="Queue database per organisation, '{registration}' replaced (default SQLite)."
    )
    heartbeat_seconds: float = Field(default=300.0, gt=0, description="Interval of the Intune heartbeat per tenant.")
    hosting_interval_seconds: float = Field(default=2.0, gt=0, description="How often enabled organisations are read.")

    @model_validator(mode="after")
    def _one_mdm_credential(self) -> PartnerSettings:
        if self.mdm_client_id and not self.mdm_client_secret:
            raise ValueError("mdm_client_id needs mdm_client_secret")
        if self.certificate_path and not self.certificate_thumbprint:
            raise ValueError("certificate_path needs certificate_thumbprint")
        return self

    def pacing(self) -> PacingConfig | None:
        """The pacers' settings (None: pacing off)."""
        if not self.pacing_enabled:
            return None
        return PacingConfig(
            initial_rate=self.pacing_initial_rate,
            min_rate=min(self.pacing_min_rate, self.pacing_initial_rate),
            max_rate=max(self.pacing_max_rate, self.pacing_initial_rate),
            increase_per_second=self.pacing_increase_per_second,
        )

    def partner_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.expanduser().resolve() / 'partner.db'}"
