"""`posturebridge partner conflicts` and `partner devices`: the device-link conflicts and the devices held back
with their reasons, as a Rich table or JSON, read from the partner database."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.partner import link, queue, scope
from posturebridge.partner.queue import Change, DeviceState

pytestmark = pytest.mark.e2e

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ENTRA = "6f1d8a52-3c0e-4b7a-9a51-0c1f2e3d4a5b"


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posturebridge", "partner", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def seed(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'partner.db'}")
    migrate(engine, "partner")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        link.record(
            session,
            [
                link.LinkFacts("mdm-a", "iOS", ENTRA, serial_number="SERIAL-A"),
                link.LinkFacts("mdm-b", "iOS", ENTRA, serial_number="SERIAL-B"),
            ],
            NOW,
        )
        link.refresh_duplicates(session, None, NOW)
        state = DeviceState("mdm-c", "iOS", ENTRA.replace("6f", "7f"), True, True, "compliant", "user-1")
        queue.upsert(session, Change(1, state, "intune"), NOW)
        claimed = queue.claim(session, "cli", NOW, limit=1, lease=dt.timedelta(minutes=1))
        reason = "user alex@contoso.example has no Intune licence (INTUNE_A)"
        queue.hold(session, "cli", claimed[0].device_id, claimed[0].version, reason, (), NOW)
        megan = scope.ScopedUser(
            "u1", "megan@contoso.example", {"ios": scope.Placement(True, "assigned to all users")}, True
        )
        snapshot = scope.ScopeSnapshot(NOW, True, frozenset({"ios"}), {"megan@contoso.example": megan})
        added = scope.ScopeChange("userAdded", "megan@contoso.example", "ios: assigned to all users")
        scope.store(session, snapshot, [added], "request", "req-1")
        session.commit()
    engine.dispose()


def test_conflicts_and_held_devices_from_the_command_line(tmp_path: Path) -> None:
    seed(tmp_path)
    listed = run("conflicts", "--json", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    found = {row["deviceId"]: row for row in json.loads(listed.stdout)}
    assert set(found) == {"mdm-a", "mdm-b"}
    assert found["mdm-a"]["conflict"] == "duplicateEntraDeviceId"
    assert found["mdm-a"]["serialNumber"] == "SERIAL-A"
    assert found["mdm-a"]["detail"] == f"Entra device {ENTRA} is also linked to MDM device mdm-b"

    table = run("conflicts", data_dir=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "2 device-link conflict(s)" in table.stdout and "SERIAL-B" in table.stdout

    held = run("devices", "--json", data_dir=tmp_path)
    assert held.returncode == 0, held.stderr
    assert [(row["deviceId"], row["state"], row["reason"]) for row in json.loads(held.stdout)] == [
        ("mdm-c", "held", "user alex@contoso.example has no Intune licence (INTUNE_A)")
    ]


def test_directory_syncs_from_the_command_line(tmp_path: Path) -> None:
    seed(tmp_path)
    listed = run("directory-syncs", "--json", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {
            "startedAt": NOW.isoformat(),
            "trigger": "request",
            "requestId": "req-1",
            "usersInScope": 1,
            "entraP1": True,
            "changes": [
                {"kind": "userAdded", "subject": "megan@contoso.example", "detail": "ios: assigned to all users"}
            ],
        }
    ]
