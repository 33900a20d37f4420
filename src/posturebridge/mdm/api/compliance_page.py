"""The user-facing compliance page of a device, and the signed links that open it.

``GET /compliance/{deviceId}?t=…`` renders the page (HTML) for whoever holds a valid link; a missing link
token is a 401 page and a tampered, expired or foreign one a 403 page, neither showing any data. Links come
from ``GET /api/v1/device/compliancePageLink`` (the device agent, with its device credential: the page a
blocked sign-in sends the user to) and ``GET /api/v1/devices/{id}/compliancePageLink`` (an administrator).

No ``from __future__ import annotations`` here: FastAPI must see the route-local ``Annotated`` aliases.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api.context import MdmContext, device_auth, org_auth
from posturebridge.mdm.service import compliance_page, devices, page_links
from posturebridge.mdm.service.credentials import DevicePrincipal, OrgPrincipal
from posturebridge.mdm.service.errors import NotFound

PAGE_PATH = "/compliance/{device_id}"
# The token is in the URL: keep it out of caches and out of the Referer of anything the page links to.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def router(context: MdmContext, key: str) -> APIRouter:
    api = APIRouter()
    pages = Environment(loader=PackageLoader("posturebridge.mdm", "templates"), autoescape=select_autoescape())
    Device = Annotated[DevicePrincipal, Depends(device_auth(context))]
    Org = Annotated[OrgPrincipal, Depends(org_auth(context))]

    def link(request: Request, organisation_id: str, device_id: str) -> schemas.CompliancePageLinkOut:
        token, expires = page_links.issue(key, organisation_id, device_id, context.now())
        base = str(request.base_url).rstrip("/")
        url = f"{base}{PAGE_PATH.format(device_id=quote(device_id, safe=''))}?t={token}"
        return schemas.CompliancePageLinkOut(url=url, expires_date_time=expires)

    @api.get("/api/v1/device/compliancePageLink", response_model=schemas.CompliancePageLinkOut, tags=["device agent"])
    def own_page_link(request: Request, principal: Device) -> schemas.CompliancePageLinkOut:
        """A link to this device's compliance page, for its user."""
        return link(request, principal.organisation_id, principal.device_id)

    @api.get(
        "/api/v1/devices/{device_id}/compliancePageLink", response_model=schemas.CompliancePageLinkOut, tags=["devices"]
    )
    def device_page_link(request: Request, device_id: str, principal: Org) -> schemas.CompliancePageLinkOut:
        """A link to a device's compliance page, to hand to its user."""
        with unit_of_work(context.sessions) as session:
            devices.get_device(session, principal.organisation_id, device_id)
        return link(request, principal.organisation_id, device_id)

    def refused(status_code: int, reason: str) -> HTMLResponse:
        body = pages.get_template("refused.html").render(status_code=status_code, reason=reason)
        return HTMLResponse(body, status_code=status_code, headers=_HEADERS)

    @api.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
    def page(device_id: str, t: Annotated[str | None, Query()] = None) -> HTMLResponse:
        if not t:
            return refused(401, "The link carries no access token")
        try:
            granted = page_links.verify(key, t, device_id, context.now())
        except page_links.LinkRefused as error:
            return refused(403, str(error).capitalize())
        with unit_of_work(context.sessions) as session:
            try:
                found = compliance_page.build(session, granted.organisation_id, device_id)
            except NotFound:
                return refused(403, "The device is no longer managed")
        body = pages.get_template("compliance.html").render(page=found, expires=granted.expires)
        return HTMLResponse(body, headers=_HEADERS)

    return api
