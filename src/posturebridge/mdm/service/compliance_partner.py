"""The MDM side of onboarding the compliance partner, as the seed walks it: "enable" (refused without the
Intelligence opt-in and the Entra integration in Directory Services), then the partner's registration, whose
answer carries the admin consent URL; "complete setup" after the administrator accepted; the state as the
partner reports it.

The MDM keeps no copy of the partner's state: the partner service owns it and answers for the organisation
(``partner.client``). Enabling issues the partner a fresh client credential for reading this organisation's
change feed (the secret is shown to the partner only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.service import credentials, settings
from posturebridge.mdm.service.errors import Conflict, MdmError
from posturebridge.partner.api.schemas import OrganisationOut
from posturebridge.partner.client import PartnerApiError, PartnerClient

CREDENTIAL_NAME = "Compliance partner"


class PartnerUnavailable(MdmError):
    status_code = 502
    code = "partnerUnavailable"


@dataclass(frozen=True)
class Prerequisites:
    tenant_id: str


def prerequisites(session: Session, organisation_id: str) -> Prerequisites:
    """The tenant to onboard; Conflict naming the missing setting otherwise."""
    opted_in, _ = settings.intelligence(session, organisation_id)
    if not opted_in:
        raise Conflict(
            "opt in to Intelligence (PUT /api/v1/settings/intelligence) before enabling the compliance partner",
            code="intelligenceOptInRequired",
        )
    services = settings.directory_services(session, organisation_id)
    if not services.entra_integration_enabled or not services.directory_id:
        raise Conflict(
            "turn on the Entra integration and set the directory (tenant) ID in Directory Services "
            "(PUT /api/v1/settings/directoryServices) before enabling the compliance partner",
            code="directoryServicesRequired",
        )
    return Prerequisites(services.directory_id)


def _translate(error: PartnerApiError) -> MdmError:
    if error.status_code == 0:
        return PartnerUnavailable(error.message)
    if error.status_code in (400, 404, 409):
        translated = Conflict(f"compliance partner: {error.message}", code=error.code)
        return translated
    return PartnerUnavailable(f"compliance partner: {error.message}", code=error.code)


@dataclass
class CompliancePartnerLink:
    """The MDM's link to the partner service; built once by the app factory."""

    sessions: sessionmaker[Session]
    partner: Callable[[], PartnerClient]
    mdm_url: str
    clock: Callable[[], dt.datetime]

    def enable(self, organisation_id: str, platforms: Sequence[str]) -> OrganisationOut:
        with unit_of_work(self.sessions) as session:
            needed = prerequisites(session, organisation_id)
            credential = credentials.create_credential(
                session, organisation_id, "clientCredentials", CREDENTIAL_NAME, self.clock()
            )
            session.commit()
        try:
            with self.partner() as partner:
                return partner.register(
                    organisation_id, needed.tenant_id, self.mdm_url, credential.id, credential.secret, list(platforms)
                )
        except PartnerApiError as error:
            raise _translate(error) from None

    def status(self, organisation_id: str) -> OrganisationOut | None:
        """The partner's view, or None when the organisation never enabled it."""
        try:
            with self.partner() as partner:
                return partner.organisation(organisation_id)
        except PartnerApiError as error:
            if error.status_code == 404:
                return None
            raise _translate(error) from None

    def complete_setup(self, organisation_id: str) -> OrganisationOut:
        try:
            with self.partner() as partner:
                return partner.complete_setup(organisation_id)
        except PartnerApiError as error:
            raise _translate(error) from None
