"""Check-ins over HTTP from many devices at once share transactions (group commit), yet each device
gets its own answer with its own evaluation, and the device credential is refused exactly as before."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from tests.integration.mdm.conftest import LiveMdm

from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.schemas import CheckInResponse

pytestmark = pytest.mark.integration

POLICY = {
    "displayName": "Windows minimum",
    "platform": "windows",
    "rules": [{"type": "osMinimumVersion", "version": "10.0.19045"}],
    "assignment": {"allDevices": True},
}
DEVICES = 8
SAMPLES = 6


def _sample(live: LiveMdm, sequence: int) -> dict[str, Any]:
    """Odd samples comply, even ones do not: every accepted sample is a transition."""
    return {
        "sequence": sequence,
        "nonce": uuid.uuid4().hex,
        "sampledDateTime": live.clock().isoformat(),
        "osVersion": "10.0.22631" if sequence % 2 else "10.0.19041",
    }


def _enrol(live: LiveMdm, admin: MdmClient) -> tuple[str, str]:
    token = admin.create_enrollment_token().token
    assert token is not None
    enrolled = admin.enroll(token, platform="windows", model="Latitude", os_version="10.0.22631")
    return enrolled.device_id, enrolled.device_token


def test_concurrent_devices_each_get_their_own_answer_and_every_transition_is_in_the_feed(
    live_mdm: LiveMdm,
) -> None:
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        admin.create_policy(POLICY)
        fleet = [_enrol(live_mdm, admin) for _ in range(DEVICES)]
        after = admin.feed_position().last_sequence
    answers: dict[str, list[CheckInResponse]] = {device_id: [] for device_id, _ in fleet}
    start = threading.Barrier(DEVICES)

    def device(device_id: str, token: str) -> None:
        with MdmClient.for_device(live_mdm.url, token) as agent:
            start.wait()
            for sequence in range(1, SAMPLES + 1):
                answers[device_id].append(agent.check_in(device_id, _sample(live_mdm, sequence)))

    threads = [threading.Thread(target=device, args=pair) for pair in fleet]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for device_id, got in answers.items():
        assert [a.device_id for a in got] == [device_id] * SAMPLES
        assert all(a.evaluation["deviceId"] == device_id for a in got)
        assert [a.compliance_state for a in got] == ["compliant", "noncompliant"] * (SAMPLES // 2)
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        entries = admin.feed(after, limit=1000).entries
    assert [e.sequence for e in entries] == list(range(after + 1, after + 1 + len(entries)))
    for device_id, got in answers.items():
        chain = [e.value for e in entries if e.device_id == device_id and e.kind == "complianceStateChanged"]
        assert chain == [a.compliance_state for a in got]


def test_the_device_credential_is_refused_as_before(live_mdm: LiveMdm) -> None:
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        device_id, token = _enrol(live_mdm, admin)
        other_id, _ = _enrol(live_mdm, admin)
        url = f"{live_mdm.url}/api/v1/devices/{device_id}/samples"
        missing = httpx.post(url, json=_sample(live_mdm, 1))
        assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthenticated")
        cases = [("pbd_unknown", device_id, 401, "invalidToken"), (token, other_id, 404, "deviceNotFound")]
        for credential, path_device_id, status, code in cases:
            with MdmClient.for_device(live_mdm.url, credential) as agent:
                with pytest.raises(MdmApiError) as refused:
                    agent.check_in(path_device_id, _sample(live_mdm, 1))
                assert (refused.value.status_code, refused.value.code) == (status, code)
        admin.unenroll(device_id)
        with MdmClient.for_device(live_mdm.url, token) as agent:
            with pytest.raises(MdmApiError) as unenrolled:
                agent.check_in(device_id, _sample(live_mdm, 2))
            assert (unenrolled.value.status_code, unenrolled.value.code) == (403, "deviceNotEnrolled")
