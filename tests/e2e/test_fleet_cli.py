"""`posturebridge fleet simulate` as a user runs it: a summary and exit 0, one-line errors and exit 1,
Ctrl-C stops with the summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.mdm.conftest import free_port, start_mdm

pytestmark = pytest.mark.e2e


def _fleet(*args: str, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "posturebridge", "fleet", "simulate", "--data-dir", str(data_dir), *args]


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTUREBRIDGE_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_fleet(*args, data_dir=data_dir), env=_env(), capture_output=True, text=True, timeout=60)


def _one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posturebridge: error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def mdm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("fleet")
    command = ["mdm", "org", "create", "Contoso", "--data-dir", str(data_dir), "--json"]
    created = subprocess.run(
        [sys.executable, "-m", "posturebridge", *command],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    port = free_port()
    process = start_mdm(data_dir, port)
    try:
        yield {**json.loads(created.stdout), "url": f"http://127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_timed_run_prints_the_summary_and_exits_0(mdm: dict[str, Any], tmp_path: Path) -> None:
    result = _run(
        "--devices", "12", "--duration", "2", "--interval", "0.5", "--json",
        "--mdm-url", mdm["url"], "--api-key", mdm["apiKey"],
        data_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["enrolled"] == 12 and summary["samples"] >= 12 and summary["errors"] == {}
    assert sum(summary["compliance"].values()) == 12
    assert summary["checkInLatencyMs"]["p50"] is not None


def test_credentials_come_from_demo_json(mdm: dict[str, Any], tmp_path: Path) -> None:
    section = {"url": mdm["url"], "client_id": mdm["clientId"], "client_secret": mdm["clientSecret"]}
    (tmp_path / "demo.json").write_text(json.dumps({"mdm": section}))
    result = _run("--devices", "3", "--duration", "1", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enrolled"] == 3


def test_ctrl_c_stops_cleanly_with_the_summary(mdm: dict[str, Any], tmp_path: Path) -> None:
    process = subprocess.Popen(
        _fleet("--devices", "5", "--interval", "0.2", "--quiet", "--mdm-url", mdm["url"], "--api-key", mdm["apiKey"],
               data_dir=tmp_path),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    time.sleep(3)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    assert time.monotonic() - started < 3
    assert process.returncode == 0, err
    assert "fleet summary" in out and "5 / 5" in out
    assert "Traceback" not in err


def test_an_unreachable_mdm_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    _one_line_error(_run("--duration", "1", "--mdm-url", url, "--api-key", "k", data_dir=tmp_path), "not reachable")
    _one_line_error(
        _run("--duration", "1", "--mdm-url", url, "--enrollment-token", "t", data_dir=tmp_path), "did not answer"
    )


def test_wrong_credentials_are_one_line_and_exit_1(mdm: dict[str, Any], tmp_path: Path) -> None:
    _one_line_error(
        _run("--duration", "1", "--mdm-url", mdm["url"], "--api-key", "pbk_wrong", data_dir=tmp_path),
        "refused the credentials",
    )
    _one_line_error(
        _run("--duration", "1", "--mdm-url", mdm["url"], "--enrollment-token", "pbe_wrong", data_dir=tmp_path),
        "refused the enrolment token",
    )
    _one_line_error(_run("--duration", "1", data_dir=tmp_path), "no MDM credentials")
    _one_line_error(_run("--platform-mix", "ios=0", "--enrollment-token", "t", data_dir=tmp_path), "add up to zero")
