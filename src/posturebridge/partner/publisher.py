"""Where the partner service finds its multi-tenant application, its public URL and its registration key.

- The application: ``POSTUREBRIDGE_PARTNER_CLIENT_ID`` with a secret or a certificate (a real tenant: the
  application registered in the partner's own tenant, docs/real-tenant.md), or else ``partner-app.json`` in
  the data directory, which ``posturebridge up --seed demo`` writes after creating the publisher tenant and
  the application in the embedded directory. Values set in the environment win over the file's.
- The registration key: the key the MDM presents (``Authorization: Bearer <key>``) to register
  organisations and complete their setup. ``POSTUREBRIDGE_PARTNER_REGISTRATION_KEY``, or else
  ``partner-registration.key`` in the data directory, created at random on first use and read by the MDM
  of the same data directory.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from posturebridge.common.keyfile import shared_key
from posturebridge.partner.client import REGISTRATION_KEY_FILE
from posturebridge.partner.graph_client import Credential
from posturebridge.partner.onboarding import CONSENT_CALLBACK_PATH, ConsentLink
from posturebridge.partner.settings import PartnerSettings
from posturebridge.partner.tenancy import Publisher

APP_FILE = "partner-app.json"


def app_file(data_dir: Path) -> Path:
    return data_dir / APP_FILE


def registration_key(settings: PartnerSettings) -> str:
    return settings.registration_key or shared_key(settings.data_dir / REGISTRATION_KEY_FILE)


def _file(settings: PartnerSettings) -> dict[str, Any]:
    try:
        content = json.loads(app_file(settings.data_dir).read_text())
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def publisher(settings: PartnerSettings) -> Publisher | None:
    """The partner application, or None when neither the settings nor the data directory name one."""
    stored = _file(settings)
    explicit = settings.model_fields_set

    def pick(name: str) -> Any:
        return getattr(settings, name) if name in explicit or name not in stored else stored[name]

    client_id = settings.client_id or stored.get("client_id")
    if not client_id:
        return None
    if settings.client_id:
        credential = Credential(
            settings.client_id, settings.client_secret, settings.certificate_path, settings.certificate_thumbprint
        )
    else:
        credential = Credential(str(client_id), stored.get("client_secret"))
    ca_bundle = pick("ca_bundle")
    return Publisher(
        credential,
        authority_host=str(pick("authority_host")),
        graph_url=str(pick("graph_url")),
        intune_resource=str(pick("intune_resource")),
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
    )


class PublisherSource:
    """The partner application, looked up until found: ``posturebridge up`` seeds the demo (and writes the
    file) while the partner process is already starting."""

    def __init__(self, settings: PartnerSettings) -> None:
        self._settings = settings
        self._found: Publisher | None = None
        self._lock = threading.Lock()

    def get(self) -> Publisher | None:
        with self._lock:
            if self._found is None:
                self._found = publisher(self._settings)
            return self._found


def public_url(settings: PartnerSettings, default: str) -> str:
    return (settings.public_url or _file(settings).get("public_url") or default).rstrip("/")


def consent_link(settings: PartnerSettings, app: Publisher, default_url: str) -> ConsentLink:
    return ConsentLink(app.authority_host, app.client_id, public_url(settings, default_url) + CONSENT_CALLBACK_PATH)
