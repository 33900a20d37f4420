"""An asyncio client of the MDM's device-agent API, for many simulated devices in one process.

It sends the same calls as the synchronous client (`posturebridge.mdm.calls`, one definition of each)
and raises the same `MdmApiError` (status 0 when the MDM cannot be reached). One `AsyncMdmClient`
shares one ``httpx.AsyncClient`` (its connection pool) among all devices; each call names the device
credential it is made with.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self, TypeVar

import httpx
from pydantic import BaseModel

from posturebridge.mdm.calls import API_PREFIX, Call
from posturebridge.mdm.client import DEFAULT_TIMEOUT, MdmApiError, error_of

M = TypeVar("M", bound=BaseModel)


class AsyncMdmClient:
    """Device-agent calls over a shared connection pool."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None, timeout: float = DEFAULT_TIMEOUT):
        self._base = base_url.rstrip("/") + API_PREFIX
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout, trust_env=False)

    @property
    def base_url(self) -> str:
        """The MDM's URL (without ``/api/v1``)."""
        return self._base.removesuffix(API_PREFIX)

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def call(self, call: Call[M], *, device_token: str | None = None) -> M:
        """Send `call` (with the device's credential unless it is the unauthenticated enrolment call)."""
        headers = {"Authorization": f"Bearer {device_token}"} if call.authenticated and device_token else {}
        try:
            response = await self._http.request(call.method, self._base + call.path, json=call.json, headers=headers)
        except httpx.HTTPError as exc:
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
            raise MdmApiError(0, code, f"the MDM at {self._base} did not answer: {exc or type(exc).__name__}") from exc
        if not response.is_success:
            raise error_of(response)
        return call.model.model_validate(response.json())
