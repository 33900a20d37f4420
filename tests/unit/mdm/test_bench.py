"""The MDM benchmark scripts run at a small size so they cannot rot; no timing assertions."""

from __future__ import annotations

import runpy
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from posturebridge.common.database import make_engine
from posturebridge.common.settings import Settings
from posturebridge.mdm.app import create_app

BENCH = Path(__file__).resolve().parents[3] / "bench"


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    monkeypatch.syspath_prepend(str(BENCH))
    return {name: runpy.run_path(str(BENCH / f"{name}.py")) for name in ("mdm_checkin", "mdm_feed_lag")}


def test_ingest_and_feed_lag_benchmarks_run_small(scripts: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    setup = scripts["mdm_checkin"]
    url = f"sqlite:///{tmp_path / 'mdm.db'}"
    _, fleet = setup["seed"](url, 6)
    assert len(fleet) == 6
    service = setup["service_ingest"](url, fleet, 12)
    assert service["samples"] == 12

    engine = make_engine(url)
    app = create_app(Settings(data_dir=tmp_path), engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        http = setup["http_ingest"](base, fleet, 8, 2)
        assert http["samples"] == 8
        other, fresh = setup["seed"](url, 4)  # a second organisation whose devices have not checked in yet
        lags = scripts["mdm_feed_lag"]["measure"](base, other.client.id, other.client.secret, fresh, 4)
        assert len(lags) == 4 and all(lag >= 0 for lag in lags)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
