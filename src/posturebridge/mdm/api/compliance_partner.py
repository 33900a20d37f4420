"""``/api/v1/settings/compliancePartner``: enable the compliance partner integration, complete its setup after
admin consent, and show its state (``mdm.service.compliance_partner``)."""

# No ``from __future__ import annotations``: FastAPI resolves the routes' local Annotated dependencies at
# definition time.
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from posturebridge.mdm import schemas
from posturebridge.mdm.api.context import MdmContext, org_auth
from posturebridge.mdm.service.compliance_partner import CompliancePartnerLink
from posturebridge.mdm.service.credentials import OrgPrincipal
from posturebridge.partner.api.schemas import OrganisationOut


def _out(found: OrganisationOut | None) -> schemas.CompliancePartnerOut:
    if found is None:
        return schemas.CompliancePartnerOut(state="notEnabled")
    return schemas.CompliancePartnerOut.model_validate(found.model_dump())


def router(context: MdmContext, link: CompliancePartnerLink) -> APIRouter:
    api = APIRouter(prefix="/api/v1/settings/compliancePartner", tags=["settings"])
    Principal = Annotated[OrgPrincipal, Depends(org_auth(context))]

    @api.get("", response_model=schemas.CompliancePartnerOut)
    def get_compliance_partner(principal: Principal) -> schemas.CompliancePartnerOut:
        return _out(link.status(principal.organisation_id))

    @api.post("/enable", response_model=schemas.CompliancePartnerOut)
    def enable_compliance_partner(
        principal: Principal,
        body: Annotated[schemas.CompliancePartnerEnableIn | None, Body(examples=[{"platforms": ["iOS"]}])] = None,
    ) -> schemas.CompliancePartnerOut:
        """Register with the compliance partner; send the administrator to ``adminConsentUrl`` next."""
        platforms = body.platforms if body is not None else []
        return _out(link.enable(principal.organisation_id, platforms))

    @api.post("/completeSetup", response_model=schemas.CompliancePartnerOut)
    def complete_compliance_partner_setup(principal: Principal) -> schemas.CompliancePartnerOut:
        """After admin consent: the partner verifies it, provisions the Intune partner tenant and delivers."""
        return _out(link.complete_setup(principal.organisation_id))

    return api
