"""Wire shapes of the partner service's API (``/api/v1``), shared by its routes and ``partner.client``.

camelCase on the wire, snake_case in Python, as the MDM's API.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class MdmCredential(Wire):
    """An MDM API credential (client credentials) for reading the organisation's change feed and devices."""

    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str = Field(min_length=1, max_length=256)


class OrganisationRegistration(Wire):
    organisation_id: str = Field(min_length=1, max_length=36, description="The MDM organisation id.")
    tenant_id: str = Field(description="The organisation's Entra directory (tenant) id.")
    mdm_url: str = Field(max_length=2048, description="Base URL of the MDM API, as the partner reaches it.")
    mdm_credential: MdmCredential
    platforms: list[str] = Field(
        default_factory=list, description="MDM platforms to deliver (default iOS, android, macOS)."
    )


class OrganisationOut(Response):
    id: str
    organisation_id: str
    tenant_id: str
    state: str
    platforms: list[str]
    admin_consent_url: str | None = None
    last_error: str | None = None
    consented_date_time: dt.datetime | None = None
    enabled_date_time: dt.datetime | None = None
    last_heartbeat_date_time: dt.datetime | None = None
    created_date_time: dt.datetime
    modified_date_time: dt.datetime


class ErrorInfo(Response):
    code: str
    message: str


class ErrorBody(Response):
    error: ErrorInfo
