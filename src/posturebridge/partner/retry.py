"""When to try a failed call again: Retry-After honoured exactly, otherwise exponential backoff with jitter.

Pure: the moment of the answer and the random source are arguments, so tests pin both. Rules
(graph-facts.md §9, learn.microsoft.com/graph/throttling):

- 429 with ``Retry-After``: wait exactly that long; throttling is the service's back-pressure, not a fault
  of the item, so it does not count towards the dead-letter limit.
- 429 without ``Retry-After``, 408, 5xx, a timeout or a refused connection (status 0): exponential backoff
  with jitter, and it counts. A 503 with ``Retry-After`` waits exactly that long, and counts.
- 401: the token may have expired under us; try again soon with a fresh token, and it counts.
- Any other 4xx: the request itself is wrong (unknown device, missing permission): dead-letter at once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class RetryDecision:
    verdict: Verdict
    not_before: dt.datetime
    counts: bool
    """Whether this failure counts towards the dead-letter limit."""
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    max_attempts: int = 10

    def backoff(self, attempt: int, rng: random.Random) -> dt.timedelta:
        """Delay before attempt ``attempt + 1`` after ``attempt`` failures: half fixed, half random ("equal
        jitter"), so it grows with every failure and concurrent retries spread out."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        return dt.timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))

    def decide(
        self, status: int, retry_after: str | None, attempts_before: int, now: dt.datetime, rng: random.Random
    ) -> RetryDecision:
        """What to do after a call answered ``status`` (0: no answer) at ``now``; ``attempts_before`` is the
        number of counted failures the item had before this one."""
        wait = parse_retry_after(retry_after, now)
        if status == 429 and wait is not None:
            return RetryDecision(Verdict.RETRY, now + wait, False, f"throttled (429), Retry-After {retry_after}")
        if not is_retryable(status):
            return RetryDecision(Verdict.DEAD, now, True, f"HTTP {status} is not retryable")
        attempts = attempts_before + 1
        if attempts >= self.max_attempts:
            return RetryDecision(Verdict.DEAD, now, True, f"gave up after {attempts} attempts")
        if wait is not None:
            return RetryDecision(Verdict.RETRY, now + wait, True, f"HTTP {status}, Retry-After {retry_after}")
        delay = self.backoff(attempts, rng)
        return RetryDecision(Verdict.RETRY, now + delay, True, f"HTTP {status or 'no answer'}, backoff {delay}")


def is_retryable(status: int) -> bool:
    return status in (0, 401, 408, 429) or status >= 500


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """``Retry-After`` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return max(moment - now, dt.timedelta())
    if seconds < 0 or seconds != seconds:  # negative or NaN
        return None
    return dt.timedelta(seconds=seconds)
