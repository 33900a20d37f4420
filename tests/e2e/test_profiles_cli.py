"""`posturebridge profiles`: the commands an administrator runs, through Typer's runner."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posturebridge.cli.profiles import app

pytestmark = pytest.mark.e2e

runner = CliRunner()


def test_ios_profile_on_stdout_is_a_valid_plist() -> None:
    result = runner.invoke(app, ["sso-extension", "--platform", "ios", "--organisation", "Contoso"])
    assert result.exit_code == 0, result.stderr
    profile = plistlib.loads(result.stdout.encode())
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadOrganization"] == "Contoso"
    [payload] = profile["PayloadContent"]
    assert payload["ExtensionIdentifier"] == "com.microsoft.azureauthenticator.ssoextension"
    assert "TeamIdentifier" not in payload
    assert result.stderr == ""


def test_macos_profile_written_to_file_with_allowed_apps(tmp_path: Path) -> None:
    out = tmp_path / "sso.mobileconfig"
    result = runner.invoke(
        app,
        [
            "sso-extension",
            "--platform",
            "macos",
            "--out",
            str(out),
            "--identifier",
            "com.contoso.sso",
            "--allow-app",
            "com.contoso.mail",
            "--allow-app",
            "com.contoso.crm",
            "--block-app",
            "com.apple.Safari",
            "--sovereign-url",
            "https://login.microsoftonline.us",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    profile = plistlib.loads(out.read_bytes())
    assert profile["PayloadIdentifier"] == "com.contoso.sso"
    assert profile["PayloadScope"] == "System"
    [payload] = profile["PayloadContent"]
    assert payload["TeamIdentifier"] == "UBF8T346G9"
    assert payload["ExtensionData"]["AppAllowList"] == "com.contoso.mail,com.contoso.crm"
    assert payload["ExtensionData"]["AppBlockList"] == "com.apple.Safari"
    assert payload["URLs"][-1] == "https://login.microsoftonline.us"


def test_reproducible_profiles_are_byte_identical() -> None:
    args = ["sso-extension", "--platform", "ios", "--reproducible"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    unpinned = runner.invoke(app, ["sso-extension", "--platform", "ios"])
    assert unpinned.stdout != first.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sso-extension"], "--platform is required"),
        (["sso-extension", "--platform", "android"], "for ios or macos, not android"),
        (["sso-extension", "--platform", "windows"], "unknown platform 'windows'"),
        (["sso-extension", "--platform", "ios", "--allow-app", "com.a,com.b"], "not a bundle identifier"),
        (["sso-extension", "--platform", "ios", "--identifier", "contoso"], "reverse-DNS"),
        (["sso-extension", "--platform", "ios", "--sovereign-url", "https://evil.example"], "sovereign"),
        (["sso-extension", "--platform", "ios", "--bogus"], "unexpected argument '--bogus'"),
        (["sso-extension", "--platform", "ios", "extra"], "unexpected argument 'extra'"),
        (["android-boxer", "--set", "novalue"], "--set takes KEY=VALUE"),
        (["android-boxer", "--set", "bad key=1"], "not a configuration key"),
        (["android-boxer", "--frobnicate"], "unexpected argument '--frobnicate'"),
    ],
)
def test_bad_input_is_one_line_on_stderr(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_unwritable_out_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "sso.mobileconfig"
    result = runner.invoke(app, ["sso-extension", "--platform", "ios", "--out", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write ")
    assert len(result.stderr.splitlines()) == 1


def test_android_boxer_text_marks_notes_and_invents_no_key() -> None:
    result = runner.invoke(app, ["android-boxer"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines
    assert all(line.startswith("# NOTE ") for line in lines)
    assert lines[0].startswith("# NOTE LOOK UP:")
    assert "Boxer" in lines[0]


def test_android_boxer_json() -> None:
    result = runner.invoke(app, ["android-boxer", "--json"])
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert all(set(entry) == {"note", "lookUp"} for entry in entries)
    assert any("com.azure.authenticator" in entry["note"] for entry in entries)


def test_android_boxer_with_looked_up_pair() -> None:
    result = runner.invoke(app, ["android-boxer", "--json", "--set", "SomeKey=true"])
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert entries[0] == {"key": "SomeKey", "value": "true", "source": "supplied by the administrator"}
    assert not any(entry.get("note", "").startswith("LOOK UP:") for entry in entries)
    text = runner.invoke(app, ["android-boxer", "--set", "SomeKey=true"])
    assert text.stdout.splitlines()[0] == "SomeKey=true  # supplied by the administrator"
