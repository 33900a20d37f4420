"""The MDM over HTTP, through its client: inventory, check-in, evaluation, the feed, isolation, errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from tests.integration.mdm.conftest import LiveMdm

from posturebridge.mdm.client import DeviceQuery, MdmApiError, MdmClient

pytestmark = pytest.mark.integration

POLICY = {
    "displayName": "iOS baseline",
    "platform": "iOS",
    "rules": [{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "notification"}, {"actionType": "block", "gracePeriodHours": 1}],
    "assignment": {"allDevices": True},
}


def sample(clock_now: dt.datetime, sequence: int, os_version: str = "17.4", **fields: Any) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "nonce": uuid.uuid4().hex,
        "sampledDateTime": clock_now.isoformat(),
        "osVersion": os_version,
        "passcodePresent": True,
        **fields,
    }


def enrol(live: LiveMdm, admin: MdmClient, platform: str = "iOS", os_version: str = "17.4") -> tuple[str, MdmClient]:
    token = admin.create_enrollment_token().token
    assert token is not None
    with MdmClient(live.url) as anonymous:
        enrolled = anonymous.enroll(token, platform=platform, model="iPhone15,2", os_version=os_version)
    return enrolled.device_id, MdmClient.for_device(live.url, enrolled.device_token)


@pytest.fixture(scope="module")
def with_policy(live_mdm: LiveMdm) -> LiveMdm:
    with live_mdm.admin() as admin:
        admin.create_policy(POLICY)
    return live_mdm


def test_check_in_evaluates_and_a_waiting_consumer_gets_the_transition(with_policy: LiveMdm) -> None:
    live = with_policy
    with live.admin() as admin:
        device_id, agent = enrol(live, admin)
        after = admin.feed_position().last_sequence
        received: list[Any] = []

        def consume() -> None:
            with live.admin() as consumer:
                received.extend(consumer.feed(after, wait=10).entries)

        waiter = threading.Thread(target=consume)
        waiter.start()
        time.sleep(0.3)
        started = time.monotonic()
        answer = agent.check_in(device_id, sample(live.clock(), 1, "16.5"))
        waiter.join()
        lag = time.monotonic() - started
        assert answer.compliance_state == "inGracePeriod" and answer.is_compliant
        assert [(e.device_id, e.previous_value, e.value) for e in received] == [
            (device_id, "notEvaluated", "inGracePeriod")
        ]
        assert lag < 5
        compliance = admin.device_compliance(device_id)
        assert any("16.5 is older" in line for line in compliance.evaluation["explanation"])
        assert [a.action_type for a in compliance.actions] == ["notification"]
        [note] = agent.inbox()
        assert "iOS baseline" in note.title
        agent.close()


def test_the_background_sweep_ends_the_grace_period(with_policy: LiveMdm) -> None:
    live = with_policy
    with live.admin() as admin:
        device_id, agent = enrol(live, admin)
        agent.check_in(device_id, sample(live.clock(), 1, "16.5"))
        position = admin.feed_position().last_sequence
        live.clock.offset += dt.timedelta(hours=1, seconds=1)
        mine: list[str | None] = []
        deadline = time.monotonic() + 10
        while not mine and time.monotonic() < deadline:
            page = admin.feed(position, wait=5)
            mine = [e.value for e in page.entries if e.device_id == device_id]
            position = page.next_after
        assert mine == ["noncompliant"]
        assert admin.get_device(device_id).compliance_state == "noncompliant"
        agent.close()


@pytest.mark.parametrize(
    ("body", "code", "target"),
    [
        ({"platform": "palmOS"}, "unknownPlatform", "platform"),
        ({"osVersion": "17.99.99.99"}, "invalidOsVersion", "osVersion"),
        ({"enrollmentToken": "pbe_unknown"}, "invalidEnrollmentToken", "enrollmentToken"),
        ({"model": 5}, "validationError", "model"),
    ],
)
def test_bad_enrolment_is_a_clear_error_and_stores_nothing(
    live_mdm: LiveMdm, body: dict[str, Any], code: str, target: str
) -> None:
    with live_mdm.admin(live_mdm.fabrikam) as admin:
        before = (admin.list_devices().total, admin.feed_position().last_sequence)
        request = {"enrollmentToken": admin.create_enrollment_token().token, "platform": "iOS", "model": "m", **body}
        response = httpx.post(f"{live_mdm.url}/api/v1/enroll", json=request)
        error = response.json()["error"]
        assert (response.status_code < 500, error["code"], error["target"]) == (True, code, target)
        assert error["message"].startswith(f"{target}: ")
        assert (admin.list_devices().total, admin.feed_position().last_sequence) == before


def test_bad_samples_are_refused_with_the_field_named(with_policy: LiveMdm) -> None:
    live = with_policy
    with live.admin() as admin:
        device_id, agent = enrol(live, admin)
        accepted = sample(live.clock(), 5)
        agent.check_in(device_id, accepted)
        position = admin.feed_position().last_sequence
        cases = [
            (accepted, 409, "sampleReplayed"),
            (sample(live.clock(), 6, "17.4.1.9"), 400, "validationError"),
            ({**sample(live.clock(), 7), "fileVaultEnabled": True}, 400, "validationError"),
        ]
        for body, status, code in cases:
            with pytest.raises(MdmApiError) as raised:
                agent.check_in(device_id, body)
            assert (raised.value.status_code, raised.value.code) == (status, code)
        stale = agent.check_in(device_id, sample(live.clock(), 2, "15.0"))
        assert stale.disposition == "ignoredStale" and stale.compliance_state == "compliant"
        assert admin.feed_position().last_sequence == position
        for raw in (b"not json", b"[1, 2]", b'{"sequence": 1e400}'):
            response = httpx.post(
                f"{live.url}/api/v1/devices/{device_id}/samples",
                content=raw,
                headers={"Authorization": f"Bearer {agent._device_token}", "Content-Type": "application/json"},
            )
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "validationError"
        agent.close()


def test_organisations_are_isolated(with_policy: LiveMdm) -> None:
    live = with_policy
    with live.admin() as contoso, live.admin(live.fabrikam) as fabrikam:
        device_id, agent = enrol(live, contoso)
        theirs, their_agent = enrol(live, fabrikam)
        with pytest.raises(MdmApiError) as raised:
            agent.check_in(theirs, sample(live.clock(), 1))
        assert (raised.value.status_code, raised.value.code) == (404, "deviceNotFound")
        with pytest.raises(MdmApiError) as foreign:
            fabrikam.get_device(device_id)
        assert foreign.value.status_code == 404
        feed_ids = {e.device_id for e in fabrikam.feed(0, limit=1000).entries}
        assert device_id not in feed_ids and theirs in feed_ids
        assert all(d.id != device_id for d in fabrikam.iter_devices())
        agent.close()
        their_agent.close()


def test_credentials_are_required_and_checked(live_mdm: LiveMdm) -> None:
    with MdmClient(live_mdm.url) as anonymous:
        with pytest.raises(MdmApiError) as raised:
            anonymous.list_devices()
        assert (raised.value.status_code, raised.value.code) == (401, "unauthenticated")
    with MdmClient.with_api_key(live_mdm.url, live_mdm.contoso.api_key.secret) as keyed:
        assert keyed.organisation().name == "Contoso"
    with MdmClient.with_client_credentials(live_mdm.url, live_mdm.contoso.client.id, "wrong") as wrong:
        with pytest.raises(MdmApiError) as refused:
            wrong.organisation()
        assert (refused.value.status_code, refused.value.code) == (401, "invalid_client")
    with MdmClient.with_api_key(live_mdm.url, "pbk_unknown") as unknown:
        with pytest.raises(MdmApiError) as bad_key:
            unknown.organisation()
        assert bad_key.value.code == "invalidApiKey"


def test_filters_export_and_the_openapi_document(with_policy: LiveMdm) -> None:
    live = with_policy
    with live.admin() as admin:
        device_id, agent = enrol(live, admin, "iOS")
        agent.report_entra_device_id("0f4a0c1e-2f8b-4c57-9a2b-1d3e5f708192")
        registered = {d.id for d in admin.iter_devices(DeviceQuery(registered_in_entra=True))}
        assert device_id in registered
        rows = list(csv.DictReader(io.StringIO(admin.export_devices("csv", DeviceQuery(registered_in_entra=True)))))
        assert [r["id"] for r in rows] == sorted(registered, key=lambda i: [r["id"] for r in rows].index(i))
        assert rows[0]["entraDeviceId"] == "0f4a0c1e-2f8b-4c57-9a2b-1d3e5f708192"
        exported = json.loads(admin.export_devices("json", DeviceQuery(platform="iOS")))
        assert {d["id"] for d in exported} == {d.id for d in admin.iter_devices(DeviceQuery(platform="iOS"))}
        with pytest.raises(MdmApiError) as raised:
            admin.list_devices(DeviceQuery(compliance_state="shiny"))
        assert raised.value.target == "complianceState"
        entries = [e for e in admin.feed(0, limit=1000).entries if e.kind == "entraDeviceIdChanged"]
        assert entries[-1].device_id == device_id
        agent.close()
    document = httpx.get(f"{live.url}/api/v1/openapi.json").json()
    assert "/api/v1/feed" in document["paths"] and "/api/v1/devices/{device_id}/samples" in document["paths"]


def test_settings_ca_log_and_directory_sync(live_mdm: LiveMdm) -> None:
    with live_mdm.admin() as admin:
        assert admin.intelligence().opted_in is False
        assert admin.set_intelligence(True).opted_in is True
        services = admin.set_directory_services(
            {
                "entraIntegrationEnabled": True,
                "directoryId": "4b0e9c2a-7d1f-4e3a-9b8c-5d6e7f8a9b0c",
                "useEntraIdForIdentityServices": True,
                "tenantName": "contoso.onmicrosoft.com",
                "immutableIdMapping": {"attribute": "userPrincipalName"},
                "sendComplianceForWindowsDevices": True,
            }
        )
        assert services.immutable_id_mapping["dataType"] == "string"
        request = admin.request_directory_sync()
        assert admin.directory_services().last_sync_request is not None
        assert any(e.value == request.id for e in admin.feed(0, limit=1000).entries)
        device_id, agent = enrol(live_mdm, admin)
        admin.append_ca_log(
            device_id,
            occurred=dt.datetime.now(dt.UTC),
            channel="graph",
            request_summary="PATCH /devices/…",
            response_status=429,
            error="TooManyRequests",
            correlation_id="c-1",
        )
        [entry] = admin.ca_log(device_id)
        assert (entry.response_status, entry.error) == (429, "TooManyRequests")
        with pytest.raises(MdmApiError) as raised:
            admin.append_ca_log(
                device_id, occurred=dt.datetime.now(dt.UTC), channel="graph", request_summary="x", response_status=42
            )
        assert raised.value.target == "responseStatus"
        agent.close()
