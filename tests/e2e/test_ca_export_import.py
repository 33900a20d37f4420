"""`posturebridge ca export` / `ca import`: a tenant's policies to files and back, through Graph."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_up import Ports, _command, _env, _wait_healthy
from tests.support import free_port

pytestmark = pytest.mark.e2e


def test_export_then_import_into_the_directory(tmp_path: Path) -> None:
    ports = Ports(free_port(), free_port(), free_port())
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        _command("up", "--data-dir", str(data_dir), "--seed", "demo", *ports.flags()),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy([f"https://127.0.0.1:{ports.directory}"], data_dir / "tls" / "ca.pem", process)
        demo = data_dir / "demo.json"
        policies = Path(__file__).parents[1] / "data" / "ca-policies" / "j0eyv-ConditionalAccessBaseline"
        source = tmp_path / "source"
        (source / "policies").mkdir(parents=True)
        (source / "namedLocations").mkdir()
        for path in sorted((policies / "NamedLocations").glob("*.json"))[:1]:
            (source / "namedLocations" / path.name).write_bytes(path.read_bytes())
        sample = {
            "id": "3d3b8ab6-0000-4000-8000-000000000001",
            "displayName": "Require compliant device (exported)",
            "state": "enabledForReportingButNotEnforced",
            "conditions": {
                "users": {"includeUsers": ["All"]},
                "applications": {"includeApplications": ["Office365"]},
                "clientAppTypes": ["all"],
            },
            "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]},
        }
        (source / "policies" / "compliant.json").write_text(json.dumps(sample))

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                _command("ca", *args, "--demo", str(demo)), env=_env(), capture_output=True, text=True, timeout=120
            )

        imported = run("import", str(source))
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.strip() == "imported 1 policies and 1 named locations"
        exported = run("export", "--to", str(tmp_path / "out"))
        assert exported.returncode == 0, exported.stderr
        written = [json.loads(p.read_text()) for p in (tmp_path / "out" / "policies").glob("*.json")]
        assert [p["displayName"] for p in written] == ["Require compliant device (exported)"]
        assert written[0]["id"] != sample["id"], "the directory assigned its own id"
        assert len(list((tmp_path / "out" / "namedLocations").glob("*.json"))) == 1
        empty = tmp_path / "empty"
        empty.mkdir()
        refused = run("import", str(empty))
        assert refused.returncode == 1
        assert (
            refused.stderr.strip() == f"posturebridge: error: {empty} has no policies/*.json or namedLocations/*.json"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
