"""The partner benchmarks run end to end in a tiny size, so bench/partner_full_sync.py and
bench/partner_propagation.py cannot rot. (Speed is measured by the scripts themselves at full size;
docs/benchmarks.md has the figures.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[3]


def bench(script: str, *arguments: str) -> dict[str, Any]:
    path = os.pathsep.join(str(ROOT / part) for part in ("src", "bench", "."))
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode == 0, result.stderr
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def test_full_sync_benchmark_small() -> None:
    figures = bench(
        "partner_full_sync.py",
        *("--devices", "60", "--enrolled", "4", "--seconds", "4", "--warmup", "1", "--fast-rate", "200"),
    )
    assert figures["off"]["devices"] == 60
    for run in ("documented", "documentedFastStart", "documentedDrained"):
        assert figures[run]["limitPerSecond"] == 20
        assert figures[run]["sent"] + figures[run]["warmupSent"] > 0


@pytest.mark.parametrize("channel", ["windows", "intune"])
def test_propagation_benchmark_small(channel: str) -> None:
    figures = bench("partner_propagation.py", "--channel", channel, "--flips", "4", "--devices", "2")
    assert figures["flips"] == 4 and figures["p50"] > 0
