"""Hybrid-joined and registered Windows devices (the seed's update section), end to end over loopback:
the device agent reports sensors to the real MDM, a workflow rule runs a custom connector that PATCHes
the real directory's Graph as the tenant's MDM application (OAuth client credentials against the
directory's token endpoint), the directory's device record follows the sensors, every call is in the
device's CA log and the directory writes its audit entry."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from tests.integration.directory.conftest import (  # noqa: F401  (fixtures)
    DirectoryServer,
    _reset_clock,
    directory_server,
    seed_tenant,
)
from tests.integration.directory.helpers import add_windows_mdm_application
from tests.integration.mdm.conftest import free_port

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.device.agent import AgentEndpoints, BrokerApplication, DeviceAgent
from posturebridge.directory import tenants
from posturebridge.directory.models import Device, DirectoryAudit, Tenant
from posturebridge.mdm.app import create_app
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials

pytestmark = pytest.mark.integration

SENSORS = ["bitlocker_status", "defender_rtp"]


@dataclass
class HybridWorld:
    mdm_url: str
    admin: MdmClient
    directory: DirectoryServer
    tenant_id: str
    app_id: str
    app_secret: str

    def entra_device(self, trust_type: str) -> str:
        """A Windows device the directory knows (hybrid-joined: ServerAd; registered: Workplace), managed by
        the tenant's MDM application (its ``mdmAppId``), not yet compliant."""
        device_id = str(uuid.uuid4())
        now = utcnow()
        with self.directory.session() as session:
            session.add(
                Device(
                    id=str(uuid.uuid4()),
                    tenant_id=self.tenant_id,
                    device_id=device_id,
                    display_name=f"PC-{trust_type}",
                    operating_system="Windows",
                    operating_system_version="10.0.22631.3007",
                    trust_type=trust_type,
                    mdm_app_id=self.app_id,
                    created_date_time=now,
                    registration_date_time=now,
                )
            )
            session.commit()
        return device_id

    def directory_state(self, entra_device_id: str) -> tuple[bool | None, bool | None]:
        with self.directory.session() as session:
            row = session.scalars(select(Device).where(Device.device_id == entra_device_id)).one()
            return row.is_managed, row.is_compliant

    def audit(self, entra_device_id: str) -> list[tuple[str, str]]:
        """(activity, initiating app id) of the directory audit entries about the device, oldest first."""
        with self.directory.session() as session:
            object_id = session.scalars(select(Device.id).where(Device.device_id == entra_device_id)).one()
            rows = session.scalars(
                select(DirectoryAudit)
                .where(DirectoryAudit.tenant_id == self.tenant_id)
                .order_by(DirectoryAudit.activity_date_time)
            ).all()
            return [
                (row.activity_display_name, str((row.initiated_by.get("app") or {}).get("appId")))
                for row in rows
                if any(target.get("id") == object_id for target in row.target_resources)
            ]


@pytest.fixture(scope="module")
def hybrid(directory_server: DirectoryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HybridWorld]:  # noqa: F811
    tenant = seed_tenant(directory_server)
    app_id, app_secret = add_windows_mdm_application(directory_server, tenant.id, permissions=["Device.ReadWrite.All"])

    data_dir: Path = tmp_path_factory.mktemp("mdm-hybrid")
    engine = make_engine(f"sqlite:///{data_dir / 'mdm.db'}")
    migrate(engine, "mdm")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, "Hybrid Org", utcnow())
        session.commit()
    config = MdmConfig(
        workflow_interval_seconds=0.1, workflow_schedule_interval_seconds=0.2, connector_retry_base_seconds=0.2
    )
    connector_http = httpx.Client(verify=directory_server.ssl_context, timeout=10.0, trust_env=False)
    app = create_app(Settings(data_dir=data_dir), engine, config=config, connector_http=connector_http)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(url), 15, "the MDM to start")
    admin = MdmClient.with_client_credentials(url, org.client.id, org.client.secret)
    try:
        yield HybridWorld(url, admin, directory_server, tenant.id, app_id, app_secret)
    finally:
        admin.close()
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_rules(hybrid: HybridWorld) -> Iterator[None]:
    """Each test sees only its own rules (the organisation is shared by the module)."""
    yield
    for rule in hybrid.admin.list_workflow_rules():
        hybrid.admin.delete_workflow_rule(rule.id)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def graph_connector(world: HybridWorld, name: str = "Entra device compliance") -> dict[str, Any]:
    return {
        "name": name,
        "method": "PATCH",
        "urlTemplate": world.directory.url + "/v1.0/devices(deviceId='{{ device.entraDeviceId }}')",
        "bodyTemplate": '{"isCompliant": {{ trigger.sensorsCompliant | tojson }}, "isManaged": true}',
        "auth": {
            "type": "oauth2ClientCredentials",
            "tokenUrl": f"{world.directory.url}/{world.tenant_id}/oauth2/v2.0/token",
            "clientId": world.app_id,
            "scope": "https://graph.microsoft.com/.default",
            "secret": world.app_secret,
        },
    }


def enrolled_agent(world: HybridWorld, tmp_path: Path, entra_device_id: str) -> DeviceAgent:
    endpoints = AgentEndpoints(world.mdm_url, world.directory.url, BrokerApplication("unused", "http://localhost"))
    agent = DeviceAgent.create(tmp_path / "device.json", "windows", endpoints, clock=utcnow, model="Latitude 7440")
    token = world.admin.create_enrollment_token(platform="windows").token
    assert token is not None
    device = agent.enrol(token, None)
    world.admin.set_entra_device_id(device.id, entra_device_id)  # the hybrid join's device ID, from the sensor
    return agent


@pytest.mark.parametrize("trust_type", ["ServerAd", "Workplace"])
def test_sensors_drive_the_directory_compliance_of_a_hybrid_or_registered_windows_device(
    hybrid: HybridWorld, tmp_path: Path, trust_type: str
) -> None:
    entra_device_id = hybrid.entra_device(trust_type)
    agent = enrolled_agent(hybrid, tmp_path, entra_device_id)
    device_id = str(agent.state.mdm_device_id)
    connector = hybrid.admin.create_connector(graph_connector(hybrid, f"Entra compliance {trust_type}"))
    rule = hybrid.admin.create_workflow_rule(
        f"Hybrid Windows compliance {trust_type}",
        {"type": "sensorResultChanged", "sensors": SENSORS, "compliantWhen": {s: "on" for s in SENSORS}},
        [{"type": "runCustomConnector", "connectorId": connector.id}],
    )

    reported = agent.report_sensors({"bitlocker_status": "on", "defender_rtp": "on", "hybrid_joined": True})
    assert reported.changed == ["bitlocker_status", "defender_rtp", "hybrid_joined"]
    assert reported.workflow_runs_queued == 1
    wait_until(lambda: hybrid.directory_state(entra_device_id) == (True, True), 20, "isCompliant true")

    agent.report_sensors({"bitlocker_status": "off"})
    wait_until(lambda: hybrid.directory_state(entra_device_id) == (True, False), 20, "isCompliant false")

    wait_until(lambda: len(hybrid.admin.workflow_runs(rule_id=rule.id, status="succeeded")) == 2, 10, "runs")
    runs = hybrid.admin.workflow_runs(rule_id=rule.id)
    assert [(r.device_id, r.action_type, r.trigger["sensorsCompliant"]) for r in runs] == [
        (device_id, "runCustomConnector", False),
        (device_id, "runCustomConnector", True),
    ]
    assert runs[0].outcome == "HTTP 204" and runs[0].error is None
    log = [e for e in hybrid.admin.ca_log(device_id) if e.channel == "customConnector"]
    assert [e.response_status for e in log] == [204, 204]
    assert f"devices(deviceId='{entra_device_id}')" in log[0].request_summary
    assert '"isCompliant": false' in log[0].request_summary
    assert hybrid.app_secret not in log[0].request_summary
    assert all(e.correlation_id for e in log)
    assert hybrid.audit(entra_device_id) == [
        ("Update device", hybrid.app_id),
        ("Update device", hybrid.app_id),
        ("Device no longer compliant", hybrid.app_id),
    ]
    sensors = {s.name: s.value for s in hybrid.admin.device_sensors(device_id)}
    assert sensors == {"bitlocker_status": "off", "defender_rtp": "on", "hybrid_joined": "true"}


def test_a_connector_that_is_not_the_mdm_application_is_refused_and_recorded(
    hybrid: HybridWorld, tmp_path: Path
) -> None:
    entra_device_id = hybrid.entra_device("ServerAd")
    agent = enrolled_agent(hybrid, tmp_path, entra_device_id)
    device_id = str(agent.state.mdm_device_id)
    with hybrid.directory.session() as session:
        tenant_row = session.get(Tenant, hybrid.tenant_id)
        assert tenant_row is not None
        other = tenants.add_application(session, tenant_row, display_name="Not the MDM", now=utcnow())
        tenants.grant_application_permissions(
            session, tenant_row, other.service_principal, ["Device.ReadWrite.All"], now=utcnow()
        )
        session.commit()
        other_id, other_secret = other.application.app_id, other.client_secret
    document = graph_connector(hybrid, "Wrong application")
    document["auth"] = {**document["auth"], "clientId": other_id, "secret": other_secret}
    connector = hybrid.admin.create_connector(document)
    rule = hybrid.admin.create_workflow_rule(
        "Wrong application",
        {"type": "sensorResultChanged", "sensors": ["firewall"], "compliantWhen": {"firewall": "on"}},
        [{"type": "runCustomConnector", "connectorId": connector.id}],
    )
    agent.report_sensors({"firewall": "on"})
    wait_until(lambda: len(hybrid.admin.workflow_runs(rule_id=rule.id, status="failed")) == 1, 20, "the failure")
    [run] = hybrid.admin.workflow_runs(rule_id=rule.id)
    assert run.attempts == 1 and run.error is not None and "HTTP 403: Authorization_RequestDenied" in run.error
    assert hybrid.directory_state(entra_device_id) == (None, None)
    [entry] = [e for e in hybrid.admin.ca_log(device_id) if e.channel == "customConnector"]
    assert entry.response_status == 403 and entry.error == run.error


def test_the_admin_api_validates_rules_and_never_echoes_secrets(hybrid: HybridWorld) -> None:
    created = hybrid.admin.create_connector(graph_connector(hybrid, "Secret keeper"))
    assert created.auth.has_secret and "secret" not in created.auth.model_dump()
    listed = hybrid.admin.get_connector(created.id)
    assert hybrid.app_secret not in listed.model_dump_json() and hybrid.app_secret not in str(
        hybrid.admin.list_connectors()
    )
    raw = httpx.get(
        f"{hybrid.mdm_url}/api/v1/customConnectors",
        headers={"Authorization": f"Bearer {hybrid.admin._access_token(False)}"},
    )
    assert hybrid.app_secret not in raw.text

    with pytest.raises(MdmApiError) as raised:
        hybrid.admin.create_workflow_rule(
            "bad", {"type": "enrolledNotRegisteredInEntra", "hours": "soon"}, [{"type": "sendHubNotification"}]
        )
    error = raised.value
    assert (error.status_code, error.code, error.target) == (400, "validationError", "trigger.hours")
    with pytest.raises(MdmApiError) as raised:
        hybrid.admin.create_workflow_rule(
            "bad", {"type": "complianceStateChanged"}, [{"type": "runCustomConnector", "connectorId": "nope"}]
        )
    assert (raised.value.status_code, raised.value.code) == (400, "connectorNotFound")
    with pytest.raises(MdmApiError) as raised:
        hybrid.admin.create_connector({**graph_connector(hybrid, "x"), "bodyTemplate": "{{ device.id "})
    assert (raised.value.status_code, raised.value.target) == (400, "bodyTemplate")
    with pytest.raises(MdmApiError) as raised:
        hybrid.admin.create_connector({**graph_connector(hybrid, "y"), "method": "TRACE"})
    assert (raised.value.status_code, raised.value.code, raised.value.target) == (400, "validationError", "method")


def test_the_registration_notification_reaches_the_hub_inbox(hybrid: HybridWorld, tmp_path: Path) -> None:
    rule = hybrid.admin.create_workflow_rule(
        "Register now",
        {"type": "enrolledNotRegisteredInEntra", "hours": 0, "platforms": ["windows"]},
        [
            {
                "type": "sendHubNotification",
                "title": "Register {{ device.model }}",
                "body": "Tap to register: {{ registrationDeepLink }}",
                "deepLink": "{{ registrationDeepLink }}",
            }
        ],
    )
    endpoints = AgentEndpoints(hybrid.mdm_url, hybrid.directory.url, BrokerApplication("unused", "http://localhost"))
    agent = DeviceAgent.create(tmp_path / "d.json", "windows", endpoints, clock=utcnow, model="Surface Pro")
    token = hybrid.admin.create_enrollment_token(platform="windows").token
    assert token is not None
    agent.enrol(token, None)
    wait_until(lambda: len(agent.notifications()) == 1, 20, "the notification")
    [notification] = agent.notifications()
    assert notification.title == "Register Surface Pro"
    assert notification.deep_link == "wsonehub://conditionalaccess?partner=Microsoft"
    [run] = hybrid.admin.workflow_runs(rule_id=rule.id)
    assert (run.trigger_type, run.status, run.trigger["hours"]) == ("enrolledNotRegisteredInEntra", "succeeded", 0)
