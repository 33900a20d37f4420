"""`posturebridge mdm workflow|connector`: add and list rules and connectors of a running MDM (started as
`posturebridge serve mdm`), see what the rules did, one-line errors for what the MDM refuses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from posturebridge.cli import app as root
from posturebridge.cli.mdm import MdmCommandError
from posturebridge.common.clock import utcnow
from posturebridge.mdm.client import MdmClient
from tests.integration.mdm.conftest import free_port, start_mdm

pytestmark = pytest.mark.e2e

runner = CliRunner()
CONNECTOR = {
    "name": "Ticketing",
    "method": "POST",
    "urlTemplate": "http://127.0.0.1:9/tickets/{{ device.id }}",
    "bodyTemplate": '{"device": {{ device.id | tojson }}, "failed": {{ trigger.failedSensors | tojson }}}',
    "auth": {"type": "bearer"},
}


@pytest.fixture(scope="module")
def mdm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("cli-workflows")
    result = runner.invoke(root, ["mdm", "org", "create", "Contoso", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    port = free_port()
    process = start_mdm(data_dir, port)
    try:
        yield {**created, "url": f"http://127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _auth(mdm: dict[str, Any]) -> list[str]:
    return ["--url", mdm["url"], "--client-id", mdm["clientId"], "--client-secret", mdm["clientSecret"]]


def test_connector_and_rule_are_added_listed_and_their_runs_shown(mdm: dict[str, Any], tmp_path: Path) -> None:
    connector_file = tmp_path / "connector.json"
    connector_file.write_text(json.dumps(CONNECTOR))
    added = runner.invoke(root, ["mdm", "connector", "add", str(connector_file), *_auth(mdm), "--secret", "t0ken"])
    assert added.exit_code == 0, added.output
    connector_id = added.stdout.strip()
    listed = runner.invoke(root, ["mdm", "connector", "list", *_auth(mdm)])
    assert f"{connector_id}\tPOST\tbearer\tTicketing" in listed.stdout and "t0ken" not in listed.stdout

    rule_file = tmp_path / "rule.json"
    rule_file.write_text(
        json.dumps(
            {
                "name": "Ticket on failing sensors",
                "trigger": {"type": "sensorResultChanged", "compliantWhen": {"firewall": "on"}},
                "actions": [{"type": "runCustomConnector", "connectorId": connector_id}],
            }
        )
    )
    rule = runner.invoke(root, ["mdm", "workflow", "add", str(rule_file), *_auth(mdm)])
    assert rule.exit_code == 0, rule.output
    rule_id = rule.stdout.strip()
    rules = runner.invoke(root, ["mdm", "workflow", "list", *_auth(mdm)])
    assert f"{rule_id}\tenabled\tsensorResultChanged -> runCustomConnector\tTicket on failing sensors" in rules.stdout

    with MdmClient.with_client_credentials(mdm["url"], mdm["clientId"], mdm["clientSecret"]) as admin:
        token = admin.create_enrollment_token(platform="windows").token
        assert token is not None
    with MdmClient(mdm["url"]) as anonymous:
        enrolled = anonymous.enroll(token, platform="windows", model="Latitude 7440", os_version="10.0.22631.3007")
    with MdmClient.for_device(mdm["url"], enrolled.device_token) as agent:
        agent.report_sensors(enrolled.device_id, {"firewall": "off"}, utcnow())

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shown = runner.invoke(root, ["mdm", "workflow", "runs", *_auth(mdm), "--rule", rule_id, "--json"])
        runs = json.loads(shown.stdout)
        if runs and runs[0]["attempts"] >= 1 and runs[0]["status"] != "running":
            break
        time.sleep(0.2)
    [run] = runs
    assert (run["deviceId"], run["actionType"]) == (enrolled.device_id, "runCustomConnector")
    assert run["trigger"]["failedSensors"] == ["firewall"]
    assert run["error"].startswith("the request failed")  # nothing listens on port 9: retried with backoff
    table = runner.invoke(root, ["mdm", "workflow", "runs", *_auth(mdm)])
    assert table.exit_code == 0 and "runCustomConn" in table.stdout


def test_a_refused_rule_is_one_line_naming_the_field(mdm: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "trigger": {"type": "deviceStolen"}, "actions": [{"type": "nope"}]}))
    result = runner.invoke(root, ["mdm", "workflow", "add", str(bad), *_auth(mdm)])
    assert result.exit_code != 0 and isinstance(result.exception, MdmCommandError)
    message = str(result.exception)
    assert (
        "\n" not in message and "unknown trigger type 'deviceStolen'" in message and "(field trigger.type)" in message
    )
    missing = runner.invoke(root, ["mdm", "connector", "add", str(tmp_path / "none.json"), *_auth(mdm)])
    assert isinstance(missing.exception, MdmCommandError) and "cannot read" in str(missing.exception)
