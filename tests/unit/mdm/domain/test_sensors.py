"""Sensor reports: parsed with their time, typed values printed as text, older results ignored."""

from __future__ import annotations

import datetime as dt

import pytest

from posturebridge.mdm.domain import ValidationError
from posturebridge.mdm.domain.sensors import SensorReport, SensorResult, judge_sensors, merge

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def report(at: dt.datetime, **results: object) -> SensorReport:
    return SensorReport.from_dict({"reportedDateTime": at.isoformat(), "results": results}, NOW)


def test_values_are_kept_as_text() -> None:
    parsed = report(NOW, bitlocker_status="on", hybrid_joined=True, free_gb=12, ratio=0.5)
    assert {r.name: r.value for r in parsed.results} == {
        "bitlocker_status": "on",
        "hybrid_joined": "true",
        "free_gb": "12",
        "ratio": "0.5",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reportedDateTime": NOW.isoformat(), "results": {}}, "results: must name at least one sensor"),
        ({"reportedDateTime": NOW.isoformat(), "results": {"bad name": "x"}}, "results.bad name"),
        ({"reportedDateTime": NOW.isoformat(), "results": {"x": None}}, "results.x: must be a string"),
        ({"results": {"x": "1"}}, "reportedDateTime: is required"),
        ({"reportedDateTime": (NOW + dt.timedelta(hours=1)).isoformat(), "results": {"x": "1"}}, "in the future"),
    ],
)
def test_bad_reports_are_refused_with_the_field(body: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SensorReport.from_dict(body, NOW)


def test_an_older_result_is_ignored_and_a_newer_one_replaces_the_stored_value() -> None:
    stored = {"bitlocker_status": SensorResult("bitlocker_status", "on", NOW)}
    older = merge(stored, report(NOW - dt.timedelta(minutes=1), bitlocker_status="off"))
    assert older.stale == ("bitlocker_status",) and not older.changed and not older.accepted
    newer = merge(stored, report(NOW + dt.timedelta(minutes=1), bitlocker_status="off", defender_rtp="on"))
    assert newer.changed == {"bitlocker_status": ("on", "off"), "defender_rtp": (None, "on")}
    same = merge(stored, report(NOW, bitlocker_status="on"))
    assert not same.changed and len(same.accepted) == 1


def test_sensors_are_judged_against_the_expected_values_and_missing_ones_fail() -> None:
    verdict = judge_sensors({"bitlocker_status": "on"}, {"bitlocker_status": "on", "defender_rtp": "on"})
    assert (verdict.compliant, verdict.failed) == (False, ("defender_rtp",))
    assert judge_sensors({}, {}).compliant
