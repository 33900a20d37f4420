"""`posturebridge up`: three services on loopback, clean stop, and clear one-line failures."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msal
import pytest
from sqlalchemy import text

from posturebridge.common.database import make_engine, migrate
from tests.support import free_port

pytestmark = pytest.mark.e2e


@dataclass
class Ports:
    directory: int
    mdm: int
    partner: int

    def flags(self) -> list[str]:
        return [
            "--directory-port", str(self.directory), "--mdm-port", str(self.mdm), "--partner-port", str(self.partner),
        ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTUREBRIDGE_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "posturebridge", *args]


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def _wait_healthy(urls: list[str], ca: Path, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while any(url.startswith("https") for url in urls) and not ca.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{ca} was not created"
        time.sleep(0.1)
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca.exists() else True
    with httpx.Client(verify=verify, trust_env=False, timeout=1.0) as client:
        for url in urls:
            while True:
                assert process.poll() is None, process.communicate()[1]
                try:
                    response = client.get(f"{url}/healthz")
                    if response.status_code == 200:
                        assert response.json() == {"status": "ok"}
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not become healthy"
                time.sleep(0.1)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Ports, Path]]:
    ports = Ports(free_port(), free_port(), free_port())
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        _command("up", "--data-dir", str(data_dir), "--seed", "demo", *ports.flags()),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(
            [
                f"https://127.0.0.1:{ports.directory}",
                f"http://127.0.0.1:{ports.mdm}",
                f"http://127.0.0.1:{ports.partner}",
            ],
            data_dir / "tls" / "ca.pem",
            process,
        )
        yield process, ports, data_dir
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_serves_three_health_endpoints_and_stops_cleanly_on_sigterm(
    running: tuple[subprocess.Popen[str], Ports, Path],
) -> None:
    process, ports, _ = running
    children = _children_of(process.pid)
    assert len(children) == 3
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"https://127.0.0.1:{ports.directory}" in out
    assert "Traceback" not in err
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower()


def test_a_second_up_on_the_same_ports_fails_with_one_clear_line(
    running: tuple[subprocess.Popen[str], Ports, Path], tmp_path: Path
) -> None:
    _, ports, _ = running
    second = subprocess.run(
        _command("up", "--data-dir", str(tmp_path / "other"), *ports.flags()),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert second.stderr.strip() == (
        f"posturebridge: error: port {ports.directory} on 127.0.0.1 for the directory service is already in use"
    )
    assert not (tmp_path / "other" / "directory.db").exists(), "nothing is started or written"


def test_the_demo_seed_lets_an_admin_app_sign_in_with_msal(running: tuple[subprocess.Popen[str], Ports, Path]) -> None:
    _, ports, data_dir = running
    demo_path = data_dir / "demo.json"
    assert demo_path.stat().st_mode & 0o777 == 0o600
    demo = json.loads(demo_path.read_text())
    assert demo["directory_url"] == f"https://127.0.0.1:{ports.directory}"
    assert demo["mdm_url"] == f"http://127.0.0.1:{ports.mdm}"
    assert demo["partner_url"] == f"http://127.0.0.1:{ports.partner}"
    assert {user["userPrincipalName"] for user in demo["users"]} >= {"adele.vance@contoso.example"}
    verify = ssl.create_default_context(cafile=demo["ca_bundle"])
    app = msal.ConfidentialClientApplication(
        demo["admin_app"]["client_id"],
        client_credential=demo["admin_app"]["client_secret"],
        authority=f"{demo['directory_url']}/{demo['tenant_id']}",
        instance_discovery=False,
        http_client=httpx.Client(verify=verify, trust_env=False),
    )
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    claims = json.loads(_jwt_payload(result["access_token"]))
    assert claims["tid"] == demo["tenant_id"]
    assert {"Device.ReadWrite.All", "Directory.ReadWrite.All", "AuditLog.Read.All"} <= set(claims["roles"])


def _jwt_payload(token: str) -> bytes:
    import base64

    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


def test_seeding_twice_keeps_the_demo_credentials(tmp_path: Path) -> None:
    from posturebridge.common.settings import Settings
    from posturebridge.demo.seed import seed_demo

    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.database_url("directory"))
    migrate(engine, "directory")
    engine.dispose()
    seed_demo(settings)
    first = json.loads((tmp_path / "demo.json").read_text())
    seed_demo(settings)
    assert json.loads((tmp_path / "demo.json").read_text()) == first
    (tmp_path / "demo.json").unlink()
    seed_demo(settings)
    renewed = json.loads((tmp_path / "demo.json").read_text())
    assert renewed["tenant_id"] == first["tenant_id"]
    assert renewed["admin_app"]["client_secret"] != first["admin_app"]["client_secret"]


def _run_up(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    ports = Ports(free_port(), free_port(), free_port())
    return subprocess.run(
        _command("up", *ports.flags(), *args), env=env or _env(), capture_output=True, text=True, timeout=60
    )


def test_an_unusable_data_directory_fails_with_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _run_up("--data-dir", str(blocker / "data"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"posturebridge: error: data directory {blocker / 'data'} is not writable")
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_fails_with_one_clear_line(tmp_path: Path) -> None:
    env = _env() | {"POSTUREBRIDGE_MDM_DATABASE_URL": "postgresql+psycopg://pb@127.0.0.1:1/mdm?connect_timeout=2"}
    result = _run_up("--data-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("posturebridge: error: mdm database postgresql+psycopg://pb@127.0.0.1:1/mdm")
    assert "unreachable" in lines[0]


def test_a_schema_newer_than_the_code_fails_with_one_clear_line(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'partner.db'}")
    migrate(engine, "partner")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version_partner SET version_num = 'ffff'"))
    engine.dispose()
    result = _run_up("--data-dir", str(tmp_path))
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(
        "posturebridge: error: partner database schema is at revision ffff, newer than this posturebridge "
        "(newest known "
    )
    assert message.endswith("); upgrade posturebridge or point it at another database")
    assert "\n" not in message


def test_serve_runs_one_part_alone(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        _command("serve", "mdm", "--port", str(port), "--data-dir", str(tmp_path)),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy([f"http://127.0.0.1:{port}"], tmp_path / "tls" / "ca.pem", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says how it ended.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in err


def test_serve_refuses_an_unknown_part() -> None:
    result = subprocess.run(_command("serve", "billing"), env=_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "posturebridge: error: unknown service 'billing'; choose one of: directory, mdm, partner"
    )
