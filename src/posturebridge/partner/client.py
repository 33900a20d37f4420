"""The partner service's HTTP client, as the MDM uses it to register an organisation and complete its setup.

Authenticates with the partner's registration key (``Authorization: Bearer``). Every failure is a
:class:`PartnerApiError` with the partner's ``code`` and message (status 0 when the partner did not answer).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from posturebridge.partner.api.schemas import ErrorBody, MdmCredential, OrganisationOut, OrganisationRegistration

REGISTRATION_KEY_FILE = "partner-registration.key"
"""The embedded default's registration key file in the data directory, shared by the MDM and the partner."""


class PartnerApiError(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({code}, HTTP {status_code})" if status_code else message)
        self.status_code = status_code
        self.code = code
        self.message = message


class PartnerClient:
    def __init__(self, base_url: str, registration_key: str, *, timeout: float = 60.0, **options: Any) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            trust_env=False,
            headers={"Authorization": f"Bearer {registration_key}"},
            **options,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _send(self, method: str, path: str, body: Any = None) -> OrganisationOut:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise PartnerApiError(
                0,
                "partnerUnavailable",
                f"the compliance partner at {self._http.base_url} did not answer: {type(exc).__name__}",
            ) from None
        if response.is_success:
            return OrganisationOut.model_validate(response.json())
        try:
            error = ErrorBody.model_validate(response.json()).error
        except ValueError:
            raise PartnerApiError(response.status_code, "partnerError", response.text[:200]) from None
        raise PartnerApiError(response.status_code, error.code, error.message)

    def register(
        self,
        organisation_id: str,
        tenant_id: str,
        mdm_url: str,
        client_id: str,
        client_secret: str,
        platforms: list[str],
    ) -> OrganisationOut:
        body = OrganisationRegistration(
            organisation_id=organisation_id,
            tenant_id=tenant_id,
            mdm_url=mdm_url,
            mdm_credential=MdmCredential(client_id=client_id, client_secret=client_secret),
            platforms=platforms,
        )
        return self._send("POST", "/api/v1/organisations", body.model_dump(by_alias=True))

    def organisation(self, organisation_id: str) -> OrganisationOut:
        return self._send("GET", f"/api/v1/organisations/{organisation_id}")

    def complete_setup(self, organisation_id: str) -> OrganisationOut:
        return self._send("POST", f"/api/v1/organisations/{organisation_id}/completeSetup")
