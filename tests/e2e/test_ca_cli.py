"""`posturebridge ca whatif` and `ca lint` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posturebridge.cli.ca import app

DATA = Path(__file__).resolve().parents[1] / "data" / "ca-policies"
J0EYV = DATA / "j0eyv-ConditionalAccessBaseline"
SPO = "00000003-0000-0ff1-ce00-000000000000"
runner = CliRunner()

pytestmark = pytest.mark.e2e


def whatif(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["whatif", "--policies", str(J0EYV), "--user", "u1", "--app", SPO, *args])
    return result.exit_code, result.output


def test_whatif_json_has_an_entry_for_every_policy() -> None:
    code, output = whatif("--no-device", "--country", "NL", "--json")
    assert code == 0
    payload = json.loads(output)
    assert payload["errorCode"] == 50076  # CA000 requires MFA of all users
    assert len(payload["appliedConditionalAccessPolicies"]) == 36
    assert all("reasons" in p for p in payload["appliedConditionalAccessPolicies"])


def test_whatif_with_mfa_outside_allowed_countries_is_blocked() -> None:
    code, output = whatif(
        "--mfa", "--country", "US", "--device-json", '{"isCompliant": true, "trustType": "AzureAd"}', "--json"
    )
    assert code == 0
    payload = json.loads(output)
    assert payload["errorCode"] == 53003
    results = {p["displayName"][:5]: p["result"] for p in payload["appliedConditionalAccessPolicies"]}
    assert results["CA001"] == "failure"


def test_whatif_table_is_readable() -> None:
    code, output = whatif("--mfa", "--country", "NL", "--no-device")
    assert code == 0
    assert "decision:" in output and "CA000" in output


def test_whatif_directory_snapshot_resolves_upn(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"users": [{"id": "u-9", "userPrincipalName": "ada@contoso.com"}], "groups": []}))
    result = runner.invoke(
        app,
        [
            "whatif",
            "--policies",
            str(J0EYV),
            "--directory",
            str(snapshot),
            "--user",
            "ada@contoso.com",
            "--app",
            SPO,
            "--json",
            "--mfa",
            "--country",
            "NL",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["conditionalAccessStatus"] in {"success", "failure"}


@pytest.mark.parametrize(
    "args",
    [
        ["whatif", "--policies", "/nonexistent", "--user", "u", "--app", "a"],
        ["whatif", "--policies", str(J0EYV), "--user", "u", "--app", "a", "--device-json", "{not json"],
        [
            "whatif",
            "--policies",
            str(J0EYV),
            "--user",
            "u",
            "--app",
            "a",
            "--device-json",
            "{}",
            "--no-device",
        ],
        ["lint", "/nonexistent"],
    ],
    ids=["missing_policies", "bad_device_json", "device_and_no_device", "lint_missing_path"],
)
def test_bad_input_is_one_line_on_stderr_and_non_zero(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.count("\n") == 1 and result.output.startswith("error:")


def test_lint_reports_placeholders_and_exits_one() -> None:
    result = runner.invoke(app, ["lint", str(DATA / "AlexFilipin-ConditionalAccess"), "--json"])
    assert result.exit_code == 1
    codes = {f["code"] for f in json.loads(result.output)["findings"]}
    assert {"placeholder", "neverApplies"} <= codes
