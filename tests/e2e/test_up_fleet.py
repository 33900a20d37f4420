"""`posturebridge up --seed demo --fleet N`: the demo organisation in the MDM, N simulated devices sending
posture once the services are up, and everything stopped together within about a second."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from posturebridge.cli.services import seed_everything
from posturebridge.common.database import make_engine, migrate
from posturebridge.common.settings import Settings
from posturebridge.mdm.client import MdmClient
from tests.e2e.test_up import Ports, _children_of, _command, _env, _wait_healthy
from tests.support import free_port

pytestmark = pytest.mark.e2e
FLEET = 8


def test_up_with_a_fleet_enrols_the_devices_and_stops_with_the_services(tmp_path: Path) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        _command("up", "--data-dir", str(data_dir), "--seed", "demo", "--fleet", str(FLEET), *ports.flags()),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = [
            f"https://127.0.0.1:{ports.directory}",
            f"http://127.0.0.1:{ports.mdm}",
            f"http://127.0.0.1:{ports.partner}",
        ]
        _wait_healthy(urls, data_dir / "tls" / "ca.pem", process)
        demo = json.loads((data_dir / "demo.json").read_text())
        section = demo["mdm"]
        assert section["url"] == f"http://127.0.0.1:{ports.mdm}"
        assert section["user_names"] == ["adele.vance", "megan.bowen", "alex.wilber"]
        with MdmClient.with_client_credentials(section["url"], section["client_id"], section["client_secret"]) as mdm:
            assert {policy.display_name for policy in mdm.list_policies()} >= {"iOS baseline", "windows baseline"}
            deadline = time.monotonic() + 60
            while True:
                devices = list(mdm.iter_devices())
                if len(devices) == FLEET and all(d.compliance_state != "notEvaluated" for d in devices):
                    break
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, f"{len(devices)} devices enrolled and evaluated"
                time.sleep(0.5)
        assert {device.user_name for device in devices} == {"adele.vance", "megan.bowen", "alex.wilber"}
        assert {device.platform for device in devices} == {"iOS", "android", "macOS", "windows"}
        children = _children_of(process.pid)
        assert len(children) == 4  # three services and the fleet

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"fleet: {FLEET} simulated devices" in out and f"{FLEET} / {FLEET}" in out  # the fleet's summary
    # About 0.3 s on an idle machine; interpreter teardown stretches it on a loaded one, with or without a fleet.
    assert stopped_in < 5, f"up took {stopped_in:.1f} s to stop"
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower()


def test_a_fleet_without_the_demo_seed_is_one_clear_line(tmp_path: Path) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    result = subprocess.run(
        _command("up", "--data-dir", str(tmp_path), "--fleet", "5", *ports.flags()),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "posturebridge: error: --fleet enrols its devices in the demo organisation: add --seed demo"
    )


def test_seeding_twice_keeps_the_mdm_demo_credentials_and_a_lost_demo_json_renews_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    for part in ("directory", "mdm"):
        engine = make_engine(settings.database_url(part))
        migrate(engine, part)
        engine.dispose()
    seed_everything(settings)
    first = json.loads((tmp_path / "demo.json").read_text())["mdm"]
    seed_everything(settings)
    assert json.loads((tmp_path / "demo.json").read_text())["mdm"] == first
    (tmp_path / "demo.json").unlink()
    seed_everything(settings)
    renewed = json.loads((tmp_path / "demo.json").read_text())["mdm"]
    assert renewed["organisation_id"] == first["organisation_id"]
    assert renewed["client_secret"] != first["client_secret"] and renewed["api_key"] != first["api_key"]
