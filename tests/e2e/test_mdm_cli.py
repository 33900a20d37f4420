"""`posturebridge mdm`: bootstrap an organisation on the database, then manage a running MDM over HTTP."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from posturebridge.cli.mdm import MdmCommandError, app
from posturebridge.common.errors import CommandError
from posturebridge.mdm.client import MdmClient
from tests.integration.mdm.conftest import free_port, start_mdm

pytestmark = pytest.mark.e2e

runner = CliRunner()
POLICY = {
    "displayName": "Windows baseline",
    "platform": "windows",
    "rules": [{"type": "bitLockerEnabled"}, {"type": "osMinimumVersion", "version": "10.0.19045"}],
    "assignment": {"allDevices": True},
}


@pytest.fixture(scope="module")
def mdm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("cli")
    result = runner.invoke(app, ["org", "create", "Contoso", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    port = free_port()
    process = start_mdm(data_dir, port)
    try:
        yield {**created, "url": f"http://127.0.0.1:{port}", "dataDir": data_dir}
    finally:
        process.terminate()
        process.wait(timeout=10)


def _auth(mdm: dict[str, Any]) -> list[str]:
    return ["--url", mdm["url"], "--client-id", mdm["clientId"], "--client-secret", mdm["clientSecret"]]


def test_org_create_prints_the_credentials_once_and_refuses_a_duplicate(mdm: dict[str, Any]) -> None:
    assert set(mdm) >= {"organisationId", "clientId", "clientSecret", "apiKey"}
    again = runner.invoke(app, ["org", "create", "Contoso", "--data-dir", str(mdm["dataDir"])])
    assert again.exit_code != 0
    assert isinstance(again.exception, CommandError) and "already exists" in str(again.exception)


def test_policy_add_then_devices_list(mdm: dict[str, Any], tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    added = runner.invoke(app, ["policy", "add", str(policy), *_auth(mdm)])
    assert added.exit_code == 0, added.output
    policy_id = added.stdout.strip()
    listed = runner.invoke(app, ["policy", "list", "--url", mdm["url"], "--api-key", mdm["apiKey"]])
    assert policy_id in listed.stdout and "Windows baseline" in listed.stdout

    token = runner.invoke(app, ["enrollment-token", "create", *_auth(mdm), "--platform", "windows"]).stdout.strip()
    with MdmClient(mdm["url"]) as anonymous:
        enrolled = anonymous.enroll(token, platform="windows", model="Latitude 7440", os_version="10.0.22631.3007")

    table = runner.invoke(app, ["devices", "list", *_auth(mdm)])
    assert table.exit_code == 0, table.output
    assert enrolled.device_id in table.stdout and "notEvaluated" in table.stdout
    as_json = runner.invoke(app, ["devices", "list", *_auth(mdm), "-o", "json", "--platform", "windows"])
    assert [d["id"] for d in json.loads(as_json.stdout)] == [enrolled.device_id]
    as_csv = runner.invoke(app, ["devices", "list", *_auth(mdm), "-o", "csv", "--platform", "iOS"])
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == []
    unregistered = runner.invoke(app, ["devices", "list", *_auth(mdm), "-o", "json", "--registered"])
    assert json.loads(unregistered.stdout) == []


def test_errors_are_one_line_with_the_field(mdm: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**POLICY, "rules": [{"type": "fileVaultEnabled"}]}))
    refused = runner.invoke(app, ["policy", "add", str(bad), *_auth(mdm)])
    assert isinstance(refused.exception, MdmCommandError)
    message = str(refused.exception)
    assert "rules[0].type" in message and "\n" not in message

    broken = tmp_path / "broken.json"
    broken.write_text("{")
    not_json = runner.invoke(app, ["policy", "add", str(broken), *_auth(mdm)])
    assert "not valid JSON" in str(not_json.exception)

    filtered = runner.invoke(app, ["devices", "list", *_auth(mdm), "--compliance-state", "shiny"])
    assert "complianceState" in str(filtered.exception)

    no_credentials = runner.invoke(app, ["devices", "list", "--url", mdm["url"]], env={})
    assert isinstance(no_credentials.exception, MdmCommandError)

    unreachable = runner.invoke(app, ["devices", "list", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", "x"])
    assert isinstance(unreachable.exception, MdmCommandError) and "did not answer" in str(unreachable.exception)

    wrong_key = runner.invoke(app, ["devices", "list", "--url", mdm["url"], "--api-key", "pbk_wrong"])
    assert "invalidApiKey" in str(wrong_key.exception)
