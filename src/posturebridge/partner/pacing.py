"""Client-side pacing of the Graph channels: one adaptive token bucket per (tenant, channel), so a full sync
runs just under the directory's write limit instead of into its 429s.

Graph's identity-and-access limits are token buckets too (graph-facts.md §9): for one application in one
tenant 3,000 writes per 2 min 30 s (20 writes/s) on top of a 3,000 write burst. Every item of a ``$batch`` is
throttled on its own, so a batch of 20 PATCHes costs 20 writes, as the directory counts it
(``directory/graph/throttling.py`` charges each item, not the batch envelope).

The rate adapts (AIMD, with the server's own hints):

- a 429 that names the limit it hit (``x-ms-throttle-scope``: one of the app+tenant, tenant or app limits
  the whole channel shares) is congestion. The rate drops to just under what the server accepted since the
  congestion began (its refill rate, once its bucket is empty), or, when that is not known yet, to a
  fraction of what was actually sent; at most once per ``cooldown_seconds``, since answers to requests
  already sent still carry the old rate's 429s. The bucket holds every request of the channel for the ``Retry-After``.
- ``x-ms-throttle-limit-percentage`` (sent only when a limit is over 80 % used) at or above
  ``high_usage`` ends the probing. Once a congestion has shown the server's refill rate, the rate follows
  the percentage around that estimate (``target_usage`` maps to the estimate, ``gain`` per point away), so
  the server's bucket stays part full and its level, not a 429, says whether to go faster or slower; until
  then the rate stays where it is.
- otherwise answers are clean and, while the pacer is what holds the channel back, the rate probes up
  additively (``increase_per_second`` requests/s every second).

A 429 without a scope (a transient refusal, or an injected fault) is the item's own business: its
Retry-After is honoured through the queue and the rate does not change, so random 429s cannot drive the
rate to its floor.

Counts of sent, accepted and throttled requests are kept per ``window_seconds`` window for benchmarks and
the logs. Pure apart from the injected clock and sleep (``clock() -> seconds``, monotonic); thread-safe.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

Clock = Callable[[], float]
Sleep = Callable[[float], None]

THROTTLE_SCOPE = "x-ms-throttle-scope"
LIMIT_PERCENTAGE = "x-ms-throttle-limit-percentage"


@dataclass(frozen=True)
class PacingConfig:
    """The defaults suit a real tenant: start at Graph's documented app+tenant write limit and probe slowly."""

    initial_rate: float = 20.0
    """Requests per second to start at (3,000 writes per 150 s)."""
    min_rate: float = 2.0
    max_rate: float = 5_000.0
    increase_per_second: float = 0.05
    """Additive probe: requests/s added per second of clean answers while the pacer holds the channel back."""
    decrease: float = 0.7
    """Factor on congestion when the server's accepted rate is not known yet."""
    margin: float = 0.98
    """On congestion the rate goes to this fraction of the rate the server accepted."""
    burst: float = 20.0
    """Requests the bucket lets go at once (one $batch)."""
    high_usage: float = 0.8
    """``x-ms-throttle-limit-percentage`` at or above which the rate stops probing up."""
    target_usage: float = 0.95
    gain: float = 0.4
    cooldown_seconds: float = 1.0
    estimate_seconds: float = 5.0
    window_seconds: float = 1.0
    history_windows: int = 3_600

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= self.initial_rate <= self.max_rate:
            raise ValueError("rates must satisfy 0 < min_rate <= initial_rate <= max_rate")
        if not 0 < self.decrease < 1 or not 0 < self.margin <= 1:
            raise ValueError("decrease must be in (0, 1) and margin in (0, 1]")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")


@dataclass(frozen=True)
class Answer:
    """What the pacer needs from one answer (one item of a $batch, or one request)."""

    status: int
    """0: no answer (the request may not have reached the server)."""
    retry_after: float | None = None
    throttle_scope: str | None = None
    limit_percentage: float | None = None

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str]) -> Answer:
        lowered = {k.lower(): v for k, v in headers.items()}
        return cls(
            status,
            _number(lowered.get("retry-after")),
            lowered.get(THROTTLE_SCOPE) or None,
            _number(lowered.get(LIMIT_PERCENTAGE)),
        )

    @property
    def congestion(self) -> bool:
        """A 429 for a limit the whole channel shares."""
        return self.status == 429 and self.throttle_scope is not None


@dataclass
class Window:
    """Requests answered in ``[start, start + window_seconds)``."""

    start: float
    sent: int = 0
    accepted: int = 0
    """Answered with anything but 429 (the server charged them)."""
    throttled: int = 0


@dataclass(frozen=True)
class PacingStats:
    rate: float
    windows: tuple[Window, ...]
    decreases: int

    def totals(self, since: float = -math.inf, until: float = math.inf) -> Window:
        """Sums over the windows starting in ``[since, until)``."""
        total = Window(since)
        for window in self.windows:
            if since <= window.start < until:
                total.sent += window.sent
                total.accepted += window.accepted
                total.throttled += window.throttled
        return total


@dataclass
class Pacer:
    """The bucket of one (tenant, channel)."""

    config: PacingConfig = field(default_factory=PacingConfig)
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep

    def __post_init__(self) -> None:
        now = self.clock()
        self._lock = threading.Lock()
        self._rate = self.config.initial_rate
        self._full_at = now
        """When the bucket would be full again: reservations move it on by cost / rate (GCRA)."""
        self._hold_until = now
        self._holds = 0
        self._estimate: float | None = None
        self._probe_from = now
        self._held_back = False
        self._calm_until = -math.inf
        self._congestion_since: float | None = None
        self._last_congestion = -math.inf
        self._answered: deque[tuple[float, int, int]] = deque()
        """(moment, accepted, sent) of the recent answers."""
        self._windows: deque[Window] = deque(maxlen=self.config.history_windows)
        self._decreases = 0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def estimate(self) -> float | None:
        """The server's rate as the last congestion showed it (None before any)."""
        return self._estimate

    def reserve(self, cost: float) -> float:
        """Take ``cost`` tokens (going into debt if need be); seconds the caller must wait before sending."""
        with self._lock:
            now = self.clock()
            self._full_at = max(self._full_at, now) + cost / self._rate
            wait = max(self._full_at - now - self.config.burst / self._rate, self._hold_until - now, 0.0)
            if wait > 0:
                self._held_back = True
            return wait

    def acquire(self, cost: float) -> None:
        """Block until ``cost`` requests may go. A hold that begins meanwhile voids the reservation: the
        requests queue again behind the hold at the new rate instead of all going the moment it ends."""
        while True:
            with self._lock:
                holds = self._holds
            wait = self.reserve(cost)
            if wait > 0:
                self.sleep(wait)
            with self._lock:
                if self._holds == holds:
                    return

    def record(self, answers: Iterable[Answer]) -> None:
        """Count the answers and adapt the rate to them."""
        answers = [a for a in answers if a.status != 0]
        if not answers:
            return
        with self._lock:
            now = self.clock()
            window = self._window(now)
            accepted = sum(1 for a in answers if a.status != 429)
            window.sent += len(answers)
            window.accepted += accepted
            window.throttled += len(answers) - accepted
            self._answered.append((now, accepted, len(answers)))
            while self._answered and self._answered[0][0] < now - self.config.estimate_seconds:
                self._answered.popleft()
            congested = [a for a in answers if a.congestion]
            if congested:
                self._congested(now, congested)
            elif (usage := max(a.limit_percentage or 0.0 for a in answers)) >= self.config.high_usage:
                self._follow(usage)
                self._probe_from = now
            else:
                self._probe(now)

    def stats(self) -> PacingStats:
        with self._lock:
            return PacingStats(self._rate, tuple(replace(w) for w in self._windows), self._decreases)

    # -- internals (lock held)
    def _window(self, now: float) -> Window:
        start = math.floor(now / self.config.window_seconds) * self.config.window_seconds
        if not self._windows or self._windows[-1].start != start:
            self._windows.append(Window(start))
        return self._windows[-1]

    def _congested(self, now: float, congested: list[Answer]) -> None:
        config = self.config
        if self._congestion_since is None or now - self._last_congestion > config.estimate_seconds:
            self._congestion_since = now
        self._last_congestion = now
        if now >= self._calm_until:
            accepted = self._answered_rate(self._congestion_since, sent=False)
            if accepted is None:
                # From what actually went out: a rate far above what the client manages would not slow it.
                sent = self._answered_rate(now - config.estimate_seconds, sent=True)
                rate = min(self._rate, sent or self._rate) * config.decrease
            else:
                # Already at or under what the server accepts: these 429s answer requests sent before.
                self._estimate = accepted
                rate = min(accepted * config.margin, self._rate)
            if rate < self._rate:
                self._rate = max(rate, config.min_rate)
                self._decreases += 1
            self._calm_until = now + config.cooldown_seconds
        waits = [a.retry_after for a in congested if a.retry_after is not None]
        if waits:
            until = now + max(waits)
            self._hold_until = max(self._hold_until, until)
            self._holds += 1
            self._full_at = max(self._full_at, until + config.burst / self._rate)
        self._probe_from = now
        self._held_back = False

    def _answered_rate(self, since: float, *, sent: bool) -> float | None:
        """Requests/s the server accepted (or that were sent) from ``since`` on: the count after the first
        answer over the time between the first and last answers (None when that is too short to tell)."""
        recent = [(t, n_sent if sent else n_accepted) for t, n_accepted, n_sent in self._answered if t >= since]
        if len(recent) < 3 or recent[-1][0] - recent[0][0] < self.config.cooldown_seconds / 2:
            return None
        return sum(n for _, n in recent[1:]) / (recent[-1][0] - recent[0][0])

    def _follow(self, usage: float) -> None:
        """Near the server's limit: the estimate of its refill rate, more when its bucket is fuller."""
        if self._estimate is None:
            return
        config = self.config
        rate = self._estimate * (1 + config.gain * (config.target_usage - usage))
        self._rate = min(max(rate, config.min_rate), config.max_rate)

    def _probe(self, now: float) -> None:
        if self._held_back:
            grown = self._rate + self.config.increase_per_second * (now - self._probe_from)
            self._rate = min(grown, self.config.max_rate)
            self._held_back = False
        self._probe_from = now


@dataclass
class Pacers:
    """The pacers of one process, one per (tenant, channel): every worker writing for a tenant through a
    channel shares its bucket, as they share the server's."""

    config: PacingConfig = field(default_factory=PacingConfig)
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _pacers: dict[tuple[str, str], Pacer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, tenant_id: str, channel: str) -> Pacer:
        key = (tenant_id.lower(), channel)
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None:
                pacer = self._pacers[key] = Pacer(self.config, self.clock, self.sleep)
            return pacer


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
