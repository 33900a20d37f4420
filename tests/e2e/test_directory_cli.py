"""`posturebridge directory …`: bootstrap a tenant from the command line, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posturebridge", "directory", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tenant_user_group_and_app_from_the_command_line(tmp_path: Path) -> None:
    created = run(
        "tenant",
        "create",
        "--name",
        "Fabrikam",
        "--prefix",
        "fabrikam",
        "--domain",
        "fabrikam.example",
        "--license",
        "AAD_PREMIUM",
        "--json",
        data_dir=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    tenant = json.loads(created.stdout)
    assert tenant["domains"] == ["fabrikam.onmicrosoft.com", "fabrikam.example"]
    user = run(
        "user",
        "add",
        "--tenant",
        "fabrikam.example",
        "--upn",
        "ann@fabrikam.example",
        "--name",
        "Ann",
        "--license",
        "AAD_PREMIUM",
        "--role",
        "Global Administrator",
        "--json",
        data_dir=tmp_path,
    )
    assert user.returncode == 0, user.stderr
    assert json.loads(user.stdout)["password"]
    group = run(
        "group",
        "add",
        "--tenant",
        tenant["tenant_id"],
        "--name",
        "Pilot users",
        "--member",
        "ann@fabrikam.example",
        "--json",
        data_dir=tmp_path,
    )
    assert group.returncode == 0, group.stderr
    application = run(
        "app",
        "add",
        "--tenant",
        "fabrikam.example",
        "--name",
        "Automation",
        "--permission",
        "Device.Read.All",
        "--json",
        data_dir=tmp_path,
    )
    assert application.returncode == 0, application.stderr
    assert len(json.loads(application.stdout)["client_secret"]) == 40
    listed = run("tenant", "list", "--json", data_dir=tmp_path)
    assert [t["tenant_id"] for t in json.loads(listed.stdout)] == [tenant["tenant_id"]]
    assert run("keys", "rotate", data_dir=tmp_path).returncode == 0
    assert (
        run(
            "tenant",
            "throttling",
            "--tenant",
            "fabrikam.example",
            "--mode",
            "documented",
            "--fault-rate",
            "0.2",
            data_dir=tmp_path,
        ).returncode
        == 0
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("user", "add", "--tenant", "nope.example", "--upn", "a@nope.example", "--name", "A"),
            "no tenant 'nope.example' (give its id or a verified domain)",
        ),
        (
            ("tenant", "create", "--name", "X", "--prefix", "bad prefix!"),
            "invalid initial domain prefix 'bad prefix!': 1-27 letters or digits",
        ),
        (("tenant", "create", "--name", "X", "--prefix", "x", "--license", "GOLD"), "unknown licence 'GOLD'"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*args, data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"posturebridge: error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
