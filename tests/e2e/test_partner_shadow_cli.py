"""`posturebridge partner shadow` and `partner dead-letters`: what shadow mode recorded and what failed for good,
read from the partner database as the worker left it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.partner import queue
from posturebridge.partner.queue import Change, Completion, DeviceState
from posturebridge.partner.retry import RetryDecision, Verdict
from posturebridge.partner.shadow import LostAccess, ShadowRecordIn
from tests.e2e.test_partner_link_cli import run

pytestmark = pytest.mark.e2e

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ENTRA = "0f6e1c2a-8b3d-4e5f-9a01-23456789abcd"


def seed(data_dir: Path) -> None:
    """Two devices through one claim: one shadowed (a user would lose access), one dead-lettered."""
    engine = make_engine(f"sqlite:///{data_dir / 'partner.db'}")
    migrate(engine, "partner")
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        for number, device in enumerate(("mdm-shadowed", "mdm-dead"), start=1):
            state = DeviceState(device, "iOS", ENTRA, True, False, "noncompliant")
            queue.upsert(session, Change(number, state, "intune"), NOW)
        claimed = {c.device_id: c for c in queue.claim(session, "cli", NOW, limit=2, lease=dt.timedelta(minutes=1))}
        shadowed, dead = claimed["mdm-shadowed"], claimed["mdm-dead"]
        record = ShadowRecordIn(
            shadowed.device_id,
            shadowed.version,
            "intune",
            ENTRA,
            NOW,
            {"isManaged": True, "isCompliant": False},
            {"id": "object-1", "isCompliant": True, "isManaged": True},
            (
                LostAccess(
                    "user-1", "megan@contoso.example", "00000002-0000-0ff1-ce00-000000000000", ("Need compliant",)
                ),
            ),
        )
        queue.complete(
            session,
            "cli",
            [
                Completion(shadowed.device_id, shadowed.version, shadowed.state, 200, shadow=record),
                Completion(
                    dead.device_id,
                    dead.version,
                    dead.state,
                    400,
                    RetryDecision(Verdict.DEAD, NOW, True, "not retryable"),
                    "BadRequest: no such device",
                ),
            ],
            NOW,
        )
        session.commit()
    engine.dispose()


def test_shadow_and_dead_letters_list_what_the_worker_recorded(tmp_path: Path) -> None:
    seed(tmp_path)
    shadow = run("shadow", "--json", data_dir=tmp_path)
    assert shadow.returncode == 0, shadow.stderr
    (record,) = json.loads(shadow.stdout)
    assert record["deviceId"] == "mdm-shadowed" and record["wouldWrite"] == {"isManaged": True, "isCompliant": False}
    assert record["lostAccess"][0]["userPrincipalName"] == "megan@contoso.example"
    table = run("shadow", data_dir=tmp_path)
    assert "1 user(s) would lose access" in table.stdout and "megan@contoso.example: Need compliant" in table.stdout

    dead = run("dead-letters", "list", "--json", data_dir=tmp_path)
    assert dead.returncode == 0, dead.stderr
    assert [row["deviceId"] for row in json.loads(dead.stdout)] == ["mdm-dead"]
    retried = run("dead-letters", "retry", data_dir=tmp_path)
    assert retried.returncode == 0 and "1 dead-lettered item(s) queued again" in retried.stdout
    assert json.loads(run("dead-letters", "list", "--json", data_dir=tmp_path).stdout) == []


def test_an_empty_partner_database_has_nothing_shadowed(tmp_path: Path) -> None:
    empty = run("shadow", "--json", data_dir=tmp_path)
    assert empty.returncode == 0 and json.loads(empty.stdout) == []
