"""`posturebridge demo`: the seed's whole story on fresh services, as a newcomer runs it from a clone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_tells_the_whole_story_and_every_step_holds(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTUREBRIDGE_")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "posturebridge", "demo", "--data-dir", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    out = done.stdout
    for expected in (
        "partnerState enabled",
        "Outlook is blocked with AADSTS53000",
        "the sign-in log shows the iPhone",
        "Outlook signs in again",
        "the story holds",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out[-4000:]}"
    assert (tmp_path / "demo" / "profiles" / "microsoft-sso-ios.mobileconfig").exists()


def test_a_demo_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTUREBRIDGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "posturebridge", "demo", "--data-dir", str(blocker)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("posturebridge: error:"), done.stderr
    assert "Traceback" not in done.stderr
