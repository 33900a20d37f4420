"""The retry policy: Retry-After honoured exactly, exponential backoff with bounded jitter, dead letters."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from posturebridge.partner.retry import RetryPolicy, Verdict, parse_retry_after
from tests.unit.partner.conftest import T0

POLICY = RetryPolicy(base_seconds=1, cap_seconds=60, max_attempts=5)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", dt.timedelta(seconds=5)),
        ("0", dt.timedelta()),
        ("1.5", dt.timedelta(seconds=1.5)),
        ("Sun, 01 Mar 2026 12:00:30 GMT", dt.timedelta(seconds=30)),
        ("Sun, 01 Mar 2026 11:00:00 GMT", dt.timedelta()),  # a date in the past: now
        ("-3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, expected: dt.timedelta | None) -> None:
    assert parse_retry_after(header, T0) == expected


def test_a_429_waits_exactly_its_retry_after_and_does_not_count() -> None:
    decision = POLICY.decide(429, "7", 4, T0, random.Random(0))
    assert decision.verdict == Verdict.RETRY and decision.not_before == T0 + dt.timedelta(seconds=7)
    assert decision.counts is False


def test_a_503_with_retry_after_waits_exactly_that_long_and_counts() -> None:
    decision = POLICY.decide(503, "3", 0, T0, random.Random(0))
    assert decision.not_before == T0 + dt.timedelta(seconds=3) and decision.counts


@pytest.mark.parametrize("status", [0, 408, 429, 500, 502, 503, 504])
def test_server_errors_and_timeouts_back_off_exponentially_within_the_jitter_band(status: int) -> None:
    rng = random.Random(42)
    for failures in range(4):
        decision = POLICY.decide(status, None, failures, T0, rng)
        ceiling = min(60.0, 2.0**failures)
        delay = (decision.not_before - T0).total_seconds()
        assert decision.verdict == Verdict.RETRY and decision.counts
        assert ceiling / 2 <= delay <= ceiling


def test_backoff_is_capped() -> None:
    delay = POLICY.backoff(30, random.Random(1))
    assert dt.timedelta(seconds=30) <= delay <= dt.timedelta(seconds=60)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 412])
def test_client_errors_are_dead_lettered_at_once(status: int) -> None:
    assert POLICY.decide(status, None, 0, T0, random.Random(0)).verdict == Verdict.DEAD


def test_the_last_allowed_attempt_dead_letters() -> None:
    assert POLICY.decide(500, None, 3, T0, random.Random(0)).verdict == Verdict.RETRY
    final = POLICY.decide(500, None, 4, T0, random.Random(0))
    assert final.verdict == Verdict.DEAD and "5 attempts" in final.reason
