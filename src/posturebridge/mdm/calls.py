"""The device agent's calls of the MDM REST API as data: method, path, body and the answer's model.

Built once here and sent by either client: the synchronous `posturebridge.mdm.client.MdmClient` (the
agent, the partner service, the CLI) and the asyncio `posturebridge.mdm.async_client.AsyncMdmClient`
(the fleet simulator). Pure: no HTTP, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Required, TypedDict, TypeVar, Unpack

from pydantic import BaseModel

from posturebridge.mdm.schemas import CheckInResponse, DeviceOut, EnrollResponse

M = TypeVar("M", bound=BaseModel)
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Call(Generic[M]):
    """One request: ``path`` is relative to ``/api/v1``; ``authenticated`` False for the enrolment call,
    whose credential is the enrolment token in the body."""

    method: str
    path: str
    model: type[M]
    json: Any = None
    authenticated: bool = True


class EnrolmentFacts(TypedDict, total=False):
    """What a device says about itself when it enrols (Python names of the ``/enroll`` body)."""

    platform: Required[str]
    model: Required[str]
    os_version: str | None
    udid: str | None
    serial_number: str | None
    imei: str | None
    ownership: str | None
    user_name: str | None


_ENROLMENT_WIRE_NAMES = {
    "platform": "platform",
    "model": "model",
    "os_version": "osVersion",
    "udid": "udid",
    "serial_number": "serialNumber",
    "imei": "imei",
    "ownership": "ownership",
    "user_name": "userName",
}


def enroll(enrollment_token: str, **device: Unpack[EnrolmentFacts]) -> Call[EnrollResponse]:
    """``POST /enroll``: the enrolment token is the credential; keep ``device_token`` from the answer."""
    body: dict[str, Any] = {"enrollmentToken": enrollment_token}
    body |= {wire: device.get(name) for name, wire in _ENROLMENT_WIRE_NAMES.items()}
    return Call("POST", "/enroll", EnrollResponse, body, authenticated=False)


def check_in(device_id: str, sample: Mapping[str, Any]) -> Call[CheckInResponse]:
    """``POST /devices/{id}/samples`` with one posture sample (MDM wire names)."""
    return Call("POST", f"/devices/{device_id}/samples", CheckInResponse, dict(sample))


def report_entra_device_id(entra_device_id: str | None) -> Call[DeviceOut]:
    """``PUT /device/entraDeviceId``: the registration callback."""
    return Call("PUT", "/device/entraDeviceId", DeviceOut, {"entraDeviceId": entra_device_id})
