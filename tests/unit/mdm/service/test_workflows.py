"""Workflow rules in the service: scheduled triggers fire once per device until the condition resets,
compliance transitions reach their rules through the feed (nothing committed is lost), sensor changes
run custom connectors whose calls are logged, retried with backoff and finally recorded as failed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.api.context import MdmContext
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.domain import ValidationError
from posturebridge.mdm.domain.workflows import REGISTRATION_DEEP_LINK, RetryPolicy
from posturebridge.mdm.models import WorkflowRun
from posturebridge.mdm.service import connectors, device_logs, devices, feed, sensors, workflows
from posturebridge.mdm.service.connectors import ConnectorAuth, ConnectorCaller, ConnectorSpec
from posturebridge.mdm.service.errors import BadRequest, Conflict
from posturebridge.mdm.service.workflow_runner import WorkflowRunner
from posturebridge.mdm.workflow_worker import run_workflows
from tests.unit.mdm.world import NOW, World

HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)
ENTRA_ID = "0f1e2d3c-0000-4000-8000-000000000001"
WINDOWS_POLICY: dict[str, Any] = {
    "displayName": "Windows baseline",
    "platform": "windows",
    "rules": [{"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "block"}],
    "assignment": {"allDevices": True},
}
REGISTER = {
    "type": "sendHubNotification",
    "title": "Register your {{ device.model }}",
    "body": "Open {{ registrationDeepLink }} to register it with Microsoft Entra.",
    "deepLink": "{{ registrationDeepLink }}",
    "priority": "high",
}


class Graph:
    """A token endpoint and a Graph ``PATCH /devices`` stand-in that answers what the test says."""

    def __init__(self) -> None:
        self.patches: list[httpx.Request] = []
        self.token_requests = 0
        self.answers: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            self.token_requests += 1
            return httpx.Response(200, json={"access_token": f"token-{self.token_requests}", "expires_in": 3600})
        self.patches.append(request)
        status = self.answers.pop(0) if self.answers else 204
        return httpx.Response(status, json={"error": {"code": "serviceUnavailable", "message": "try later"}})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.patches]


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy(WINDOWS_POLICY)
    return world


@pytest.fixture
def graph() -> Graph:
    return Graph()


@pytest.fixture
def runner(sessions: sessionmaker[Session], graph: Graph) -> WorkflowRunner:
    http = httpx.Client(transport=httpx.MockTransport(graph))
    return WorkflowRunner(sessions, ConnectorCaller(http), RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=3))


def rule(world: World, name: str, trigger: dict[str, Any], actions: list[dict[str, Any]]) -> str:
    fields = workflows.RuleFields(name, True, trigger, actions)
    return world.run(lambda s: workflows.create_rule(s, world.organisation_id, fields, world.now)).id


def runs(world: World) -> list[WorkflowRun]:
    query = workflows.RunQuery(limit=1000)
    return list(reversed(world.run(lambda s: workflows.list_runs(s, world.organisation_id, query), commit=False)))


def inbox(world: World, device_id: str) -> list[Any]:
    return world.run(lambda s: device_logs.inbox(s, world.organisation_id, device_id), commit=False)


def windows_device(world: World) -> str:
    return world.enroll(platform="windows", os_version="10.0.22631.3007", model="Latitude 7440").device.id


# --- onboarding before enforcement -------------------------------------------------------------------


def test_an_unregistered_device_is_told_once_how_to_register_until_it_registers(
    world: World, runner: WorkflowRunner
) -> None:
    device_id = windows_device(world)
    rule(world, "Register within a day", {"type": "enrolledNotRegisteredInEntra", "hours": 24}, [REGISTER])
    assert runner.run_once(NOW + 24 * HOUR - SECOND).queued == 0
    assert runner.run_once(NOW + 24 * HOUR).queued == 1
    assert runner.run_once(NOW + 30 * HOUR).queued == 0  # once per device and rule
    [notification] = inbox(world, device_id)
    assert notification.title == "Register your Latitude 7440"
    assert notification.deep_link == REGISTRATION_DEEP_LINK == "wsonehub://conditionalaccess?partner=Microsoft"
    assert REGISTRATION_DEEP_LINK in notification.body and notification.priority == "high"
    [run] = runs(world)
    assert (run.status, run.trigger_type, run.action_type, run.attempts) == (
        "succeeded",
        "enrolledNotRegisteredInEntra",
        "sendHubNotification",
        1,
    )
    assert run.outcome == f"Hub notification {notification.id} sent" and run.error is None

    # registering resets the condition; losing the registration later makes the rule fire again
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, device_id, ENTRA_ID, NOW))
    assert runner.run_once(NOW + 31 * HOUR).queued == 0
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, device_id, None, NOW))
    assert runner.run_once(NOW + 32 * HOUR).queued == 1
    assert len(inbox(world, device_id)) == 2


def test_a_compliance_change_committed_while_no_runner_ran_is_still_notified_with_the_failed_rules(
    world: World, runner: WorkflowRunner
) -> None:
    device_id = windows_device(world)
    world.check_in(device_id, world.sample("10.0.22631.3007"))  # compliant before the rule exists
    notify = {
        "type": "sendHubNotification",
        "title": "Your device is {{ trigger.state }}",
        "body": "Failing: {{ compliance.failedRules | join(', ') }}",
    }
    rule(world, "Tell the user", {"type": "complianceStateChanged", "toStates": ["noncompliant"]}, [notify])
    world.check_in(device_id, world.sample("10.0.22631.3007", passcodePresent=False))
    assert inbox(world, device_id) == [] and runs(world) == []  # the feed entry is the outbox; nothing ran yet

    report = runner.run_once(NOW)
    assert (report.queued, report.executed) == (1, 1)
    [notification] = inbox(world, device_id)
    assert notification.title == "Your device is noncompliant"
    assert notification.body.startswith("Failing: ") and len(notification.body) > len("Failing: ")
    [run] = runs(world)
    assert run.trigger_key.startswith("feed:") and run.context["trigger"]["previousState"] == "compliant"
    assert runner.run_once(NOW).queued == 0  # each transition is taken once

    world.check_in(device_id, world.sample("10.0.22631.3007"))  # back to compliant: not a target state
    assert runner.run_once(NOW).queued == 0


# --- sensors and custom connectors --------------------------------------------------------------------


def graph_connector(world: World, **changes: Any) -> str:
    spec = ConnectorSpec(
        name="Entra compliance",
        method="PATCH",
        url_template="https://graph.test/v1.0/devices(deviceId='{{ device.entraDeviceId }}')",
        body_template='{"isCompliant": {{ trigger.sensorsCompliant | tojson }}, "isManaged": true}',
        auth=ConnectorAuth(
            "oauth2ClientCredentials",
            token_url="https://login.test/tenant/oauth2/v2.0/token",
            client_id="mdm-app",
            scope="https://graph.microsoft.com/.default",
        ),
        secret="s3cret",
    )
    for name, value in changes.items():
        spec = ConnectorSpec(**{**spec.__dict__, name: value})
    return world.run(lambda s: connectors.create_connector(s, world.organisation_id, spec, world.now)).id


def sensor_rule(world: World, connector_id: str) -> str:
    trigger = {
        "type": "sensorResultChanged",
        "sensors": ["bitlocker_status", "defender_rtp"],
        "compliantWhen": {"bitlocker_status": "on", "defender_rtp": "on"},
    }
    return rule(world, "Hybrid compliance", trigger, [{"type": "runCustomConnector", "connectorId": connector_id}])


def report(world: World, device_id: str, at: dt.datetime, **results: object) -> sensors.SensorReportResult:
    body = {"reportedDateTime": at.isoformat(), "results": results}
    return world.run(lambda s: sensors.report(s, device_id, device_id, body, world.now))


def test_a_sensor_change_runs_the_connector_and_logs_the_call(
    world: World, runner: WorkflowRunner, graph: Graph
) -> None:
    device_id = windows_device(world)
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, device_id, ENTRA_ID, NOW))
    sensor_rule(world, graph_connector(world))

    assert report(world, device_id, NOW, bitlocker_status="on", defender_rtp="on", hybrid_joined=True).runs_queued == 1
    runner.run_once(NOW)
    assert report(world, device_id, NOW + SECOND, bitlocker_status="off").runs_queued == 1
    assert report(world, device_id, NOW + SECOND, hybrid_joined=False).runs_queued == 0  # not a watched sensor
    runner.run_once(NOW + SECOND)

    assert graph.bodies() == [{"isCompliant": True, "isManaged": True}, {"isCompliant": False, "isManaged": True}]
    first = graph.patches[0]
    assert first.method == "PATCH" and str(first.url) == f"https://graph.test/v1.0/devices(deviceId='{ENTRA_ID}')"
    assert first.headers["Authorization"] == "Bearer token-1" and first.headers["Content-Type"] == "application/json"
    assert graph.token_requests == 1  # cached until it expires
    log = world.run(lambda s: device_logs.ca_log(s, world.organisation_id, device_id), commit=False)
    assert [(e.channel, e.response_status, e.error) for e in log] == [("customConnector", 204, None)] * 2
    assert '"isCompliant": false' in log[0].request_summary and ENTRA_ID in log[0].request_summary
    assert "s3cret" not in log[0].request_summary and "token-1" not in log[0].request_summary
    assert log[0].correlation_id == graph.patches[1].headers["client-request-id"]
    assert [r.status for r in runs(world)] == ["succeeded", "succeeded"]


def test_an_older_sensor_result_is_ignored(world: World, runner: WorkflowRunner) -> None:
    device_id = windows_device(world)
    sensor_rule(world, graph_connector(world))
    report(world, device_id, NOW, bitlocker_status="on")
    late = report(world, device_id, NOW - HOUR, bitlocker_status="off")
    assert (late.change.stale, late.runs_queued) == (("bitlocker_status",), 0)
    assert world.run(lambda s: sensors.sensor_values(s, device_id), commit=False) == {"bitlocker_status": "on"}


def test_a_failing_connector_is_retried_with_backoff_then_recorded_as_failed(
    world: World, runner: WorkflowRunner, graph: Graph
) -> None:
    device_id = windows_device(world)
    world.run(lambda s: devices.set_entra_device_id(s, world.organisation_id, device_id, ENTRA_ID, NOW))
    sensor_rule(world, graph_connector(world))
    graph.answers = [503, 503, 503]
    report(world, device_id, NOW, bitlocker_status="on", defender_rtp="on")

    runner.run_once(NOW)
    [run] = runs(world)
    assert (run.status, run.attempts, run.next_attempt_at) == ("pending", 1, NOW + 2 * SECOND)
    assert runner.run_once(NOW + SECOND).executed == 0  # not before its backoff
    runner.run_once(NOW + 2 * SECOND)
    assert runs(world)[0].next_attempt_at == NOW + 6 * SECOND
    runner.run_once(NOW + 6 * SECOND)
    [run] = runs(world)
    assert (run.status, run.attempts, run.outcome) == ("failed", 3, "HTTP 503")
    assert run.error == "HTTP 503: serviceUnavailable: try later; gave up after 3 attempts"
    assert len(graph.patches) == 3
    log = world.run(lambda s: device_logs.ca_log(s, world.organisation_id, device_id), commit=False)
    assert [e.response_status for e in log] == [503, 503, 503]


def test_a_refused_call_and_a_missing_variable_fail_at_once(world: World, runner: WorkflowRunner, graph: Graph) -> None:
    device_id = windows_device(world)  # no Entra device ID yet: device.entraDeviceId is None, not missing
    connector_id = graph_connector(world, url_template="https://graph.test/v1.0/devices/{{ device.objectId }}")
    sensor_rule(world, connector_id)
    report(world, device_id, NOW, bitlocker_status="on")
    runner.run_once(NOW)
    [run] = runs(world)
    assert run.status == "failed" and run.attempts == 1
    assert run.error is not None and "urlTemplate: 'dict object' has no attribute 'objectId'" in run.error
    assert graph.patches == []

    world.run(lambda s: workflows.delete_rule(s, world.organisation_id, runs(world)[0].rule_id))
    sensor_rule(world, graph_connector(world, name="Second"))
    graph.answers = [403]
    report(world, device_id, NOW + SECOND, bitlocker_status="off")
    runner.run_once(NOW + SECOND)
    [run] = runs(world)
    assert (run.status, run.attempts) == ("failed", 1)


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "actions", "error", "target"),
    [
        ({"type": "nope"}, [REGISTER], ValidationError, "trigger.type"),
        ({"type": "complianceStateChanged"}, [{**REGISTER, "body": "{{ oops"}], ValidationError, "actions[0].body"),
        (
            {"type": "complianceStateChanged"},
            [{"type": "runCustomConnector", "connectorId": "missing"}],
            BadRequest,
            "actions[0].connectorId",
        ),
    ],
)
def test_rules_are_validated(
    world: World, trigger: dict[str, Any], actions: list[dict[str, Any]], error: type[Exception], target: str
) -> None:
    with pytest.raises(error) as raised:
        rule(world, "bad", trigger, actions)
    found = raised.value.errors[0].path if isinstance(raised.value, ValidationError) else raised.value.target  # type: ignore[attr-defined]
    assert found == target


def test_names_are_unique_and_a_connector_in_use_cannot_be_deleted(world: World) -> None:
    connector_id = graph_connector(world)
    sensor_rule(world, connector_id)
    with pytest.raises(Conflict):
        sensor_rule(world, connector_id)
    delete: Callable[[Session], None] = lambda s: connectors.delete_connector(  # noqa: E731
        s, world.organisation_id, connector_id, workflows.connector_in_use(s, world.organisation_id, connector_id)
    )
    with pytest.raises(Conflict, match="Hybrid compliance"):
        world.run(delete)


def test_a_replaced_connector_keeps_its_secret_unless_the_credentials_change(world: World) -> None:
    connector_id = graph_connector(world)
    spec = ConnectorSpec(
        name="Entra compliance",
        method="PATCH",
        url_template="https://graph.test/v1.0/devices",
        auth=ConnectorAuth("oauth2ClientCredentials", token_url="https://login.test/t", client_id="mdm-app"),
    )
    row = world.run(lambda s: connectors.replace_connector(s, world.organisation_id, connector_id, spec, NOW))
    assert row.secret == "s3cret"
    basic = ConnectorSpec(name="x", method="GET", url_template="https://x.test", auth=ConnectorAuth("basic", "u"))
    with pytest.raises(BadRequest, match="required for basic"):
        world.run(lambda s: connectors.replace_connector(s, world.organisation_id, connector_id, basic, NOW))


# --- several runners, crashes, retention --------------------------------------------------------------


def test_two_runners_at_once_send_each_notification_once(world: World, sessions: sessionmaker[Session]) -> None:
    device_ids = [windows_device(world) for _ in range(12)]
    rule(world, "Register now", {"type": "enrolledNotRegisteredInEntra", "hours": 0}, [REGISTER])
    runners = [WorkflowRunner(sessions, ConnectorCaller(httpx.Client()), batch=5) for _ in range(2)]
    start = threading.Barrier(len(runners))

    def round_of(runner: WorkflowRunner) -> None:
        start.wait()
        runner.run_once(NOW)

    threads = [threading.Thread(target=round_of, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [len(inbox(world, device_id)) for device_id in device_ids] == [1] * len(device_ids)
    assert [r.status for r in runs(world)] == ["succeeded"] * len(device_ids)


def test_a_run_whose_runner_died_is_taken_again_when_its_lease_runs_out(world: World, runner: WorkflowRunner) -> None:
    device_id = windows_device(world)
    rule(world, "Register now", {"type": "enrolledNotRegisteredInEntra", "hours": 0}, [REGISTER])
    world.run(lambda s: workflows.sweep_scheduled(s, NOW))
    [lost] = world.run(lambda s: workflows.claim_runs(s, NOW, runner.lease, 10))  # claimed, then the process died
    assert runner.run_once(NOW + runner.lease - SECOND).executed == 0
    assert runner.run_once(NOW + runner.lease).executed == 1
    [run] = runs(world)
    assert (run.id, run.status, run.attempts) == (lost.id, "succeeded", 2)
    assert len(inbox(world, device_id)) == 1
    runner.execute(lost, NOW + runner.lease)  # the first claim, had it woken up: no longer its run
    assert len(inbox(world, device_id)) == 1


def test_transitions_removed_by_feed_retention_are_skipped_with_a_warning(
    world: World, runner: WorkflowRunner, caplog: pytest.LogCaptureFixture
) -> None:
    device_id = windows_device(world)
    notify = {"type": "sendHubNotification", "title": "{{ trigger.state }}", "body": "state changed"}
    rule(world, "Tell the user", {"type": "complianceStateChanged"}, [notify])
    world.check_in(device_id, world.sample("10.0.22631.3007", passcodePresent=False))
    world.run(lambda s: feed.prune(s, NOW + HOUR, dt.timedelta(0)))
    assert runner.run_once(NOW + HOUR).queued == 0
    assert "feed retention removed entries" in caplog.text
    world.check_in(device_id, world.sample("10.0.22631.3007"), NOW + HOUR)
    assert runner.run_once(NOW + HOUR).queued == 1
    assert [n.title for n in inbox(world, device_id)] == ["compliant"]


def test_the_background_task_runs_rounds_and_stops_gracefully(world: World, sessions: sessionmaker[Session]) -> None:
    device_id = windows_device(world)
    rule(world, "Register now", {"type": "enrolledNotRegisteredInEntra", "hours": 0}, [REGISTER])
    http = httpx.Client()
    runner = WorkflowRunner(sessions, ConnectorCaller(http))
    config = MdmConfig(workflow_interval_seconds=0.05, workflow_schedule_interval_seconds=0.05)
    context = MdmContext(sessions=sessions, config=config, clock=lambda: NOW)

    async def serve_briefly() -> None:
        task = asyncio.create_task(run_workflows(context, runner))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if await asyncio.to_thread(inbox, world, device_id):
                break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(serve_briefly())
    assert len(inbox(world, device_id)) == 1
    assert http.is_closed
    assert runner.run_once(NOW).executed == 0  # stopped: claims nothing more
