"""The benchmark script runs (small size) so it cannot rot; no timing assertions."""

from __future__ import annotations

import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "ca_decisions.py"


def test_benchmark_runs_with_a_small_size(capsys: object) -> None:
    module = runpy.run_path(str(BENCH))
    figures = module["run"](5, 20, 5)
    assert figures["compiled"]["decisions"] == 20
    assert figures["plain"]["decisions"] == 5
    assert module["main"](["--small"]) == 0
