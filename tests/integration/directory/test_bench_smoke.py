"""The directory load benchmark runs end to end in a small size, so bench/directory_load.py cannot rot.
(Speed is measured by the script itself, on the full size; docs/benchmarks.md has the figures.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).parents[3] / "bench" / "directory_load.py"


def test_directory_load_benchmark_small() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--devices", "300", "--seconds", "0.5", "--concurrency", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["tokens"]["errors"] == 0 and figures["tokens"]["requests"] > 0
    assert figures["lookups"]["errors"] == 0 and figures["lookups"]["requests"] > 0
    assert figures["listing"]["devices"] == 300
