"""The Graph channels' pacer, on a fake clock: it never sends faster than its bucket, slows down on a 429 for
a shared limit, holds for Retry-After, probes back up on clean answers, and against the directory's own
throttler (the documented limits' token buckets) settles just under the write limit."""

from __future__ import annotations

import heapq
import json
from typing import Any

import httpx
import pytest

from posturebridge.directory.graph.throttling import Limit, Limits, TenantThrottling, ThrottleMode, Throttler
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.pacing import Answer, Pacer, PacingConfig, PacingStats
from tests.unit.partner.test_channels import graph, item

SCOPE = "Tenant_Application/Write/app/tenant"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(clock: FakeClock, **config: Any) -> Pacer:
    return Pacer(PacingConfig(**config), clock=clock, sleep=clock.sleep)


def throttled(retry_after: float | None = 1.0, scope: str | None = SCOPE) -> Answer:
    return Answer(429, retry_after, scope)


def test_never_sends_more_than_the_bucket_allows() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=10.0, burst=5.0)
    sent: list[float] = []
    for _ in range(200):
        paced.acquire(1)
        sent.append(clock.now)
    for start in sent:
        for seconds in (0.5, 1.0, 7.0):
            in_window = sum(1 for moment in sent if start <= moment < start + seconds)
            assert in_window <= 5 + 10 * seconds + 1e-9
    assert sent[-1] - sent[0] == pytest.approx((200 - 5) / 10, abs=0.2)


def test_a_batch_costs_one_request_per_item() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=20.0, burst=20.0)
    paced.acquire(20)
    paced.acquire(20)
    assert clock.now - 1_000.0 == pytest.approx(1.0)


def test_a_429_for_a_shared_limit_slows_down_multiplicatively_once_per_cooldown() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=100.0, decrease=0.5, cooldown_seconds=1.0)
    paced.record([throttled()])
    assert paced.rate == 50.0
    clock.now += 0.5
    paced.record([throttled()])  # answers to requests sent at the old rate
    assert paced.rate == 50.0
    assert paced.stats().decreases == 1


def test_once_the_server_has_shown_its_rate_it_slows_to_just_under_it() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=500.0, margin=0.98, cooldown_seconds=1.0)
    for _ in range(30):  # the server accepts 20 requests a second and refuses the rest
        paced.record([Answer(204)] * 2 + [throttled(retry_after=None)] * 48)
        clock.now += 0.1
    assert paced.rate == pytest.approx(20 * 0.98, rel=0.05)


def test_retry_after_holds_every_request_of_the_channel() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=1000.0, burst=20.0)
    paced.record([Answer(204), throttled(retry_after=3.0)])
    paced.acquire(1)
    assert clock.now >= 1_003.0


def test_a_hold_that_begins_while_a_batch_waits_sends_it_after_the_hold_at_the_new_rate() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=10.0, burst=10.0, decrease=0.7)
    paced.acquire(10)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 1:  # meanwhile another batch comes back throttled
            paced.record([throttled(retry_after=5.0)])

    paced.sleep = sleep
    paced.acquire(10)
    assert paced.rate == pytest.approx(7.0)
    assert clock.now == pytest.approx(1_006.0 + 10 / 7)  # not at 1,006 with every other waiting batch


def test_a_429_that_names_no_limit_is_left_to_the_item_retry() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=100.0)
    paced.record([throttled(retry_after=5.0, scope=None)] * 10)
    assert paced.rate == 100.0
    paced.acquire(1)
    assert clock.now == 1_000.0
    assert paced.stats().totals().throttled == 10


def test_clean_answers_probe_up_additively_while_the_pacer_holds_back() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=10.0, burst=10.0, increase_per_second=1.0)
    paced.record([throttled()])
    low = paced.rate
    for _ in range(10):
        paced.acquire(10)
        paced.record([Answer(204)] * 10)
    assert paced.rate > low
    assert paced.rate == pytest.approx(low + (clock.now - 1_001.0), rel=0.2)


def test_an_idle_channel_does_not_probe() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=10.0, increase_per_second=1.0)
    for _ in range(10):
        clock.now += 60
        paced.acquire(1)
        paced.record([Answer(204)])
    assert paced.rate == 10.0


def test_a_nearly_full_server_bucket_stops_the_probe_and_then_steers_the_rate() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=10.0, burst=10.0, increase_per_second=1.0, target_usage=0.9, gain=0.5)
    for _ in range(5):
        paced.acquire(10)
        paced.record([Answer(204, limit_percentage=0.85)] * 10)
    assert paced.rate == 10.0
    for _ in range(30):  # a congestion shows the server accepts 10/s
        paced.record([Answer(204)] + [throttled(retry_after=None)] * 4)
        clock.now += 0.1
    estimate = paced.estimate
    assert estimate == pytest.approx(10, rel=0.1)
    paced.record([Answer(204, limit_percentage=1.0)])
    assert paced.rate == pytest.approx(estimate * 0.95)
    paced.record([Answer(204, limit_percentage=0.8)])
    assert paced.rate == pytest.approx(estimate * 1.05)


def test_windows_channel_waits_for_its_pacer_and_reports_the_answers() -> None:
    clock = FakeClock()
    paced = pacer(clock, initial_rate=20.0, burst=20.0)

    def handler(request: httpx.Request) -> httpx.Response:
        requests = json.loads(request.content)["requests"]
        headers = {"Retry-After": "2", "x-ms-throttle-scope": SCOPE}
        answers = [{"id": r["id"], "status": 204} for r in requests[:-1]]
        answers.append({"id": requests[-1]["id"], "status": 429, "headers": headers})
        return httpx.Response(200, json={"responses": answers})

    channel = WindowsChannel(graph(handler), pacer=paced)
    first = channel.deliver([item(n) for n in range(20)])
    assert clock.now == 1_000.0
    assert first[-1].throttled_channel and not first[0].throttled_channel
    channel.deliver([item(n) for n in range(20)])
    assert clock.now >= 1_002.0  # the Retry-After of the shared limit held the next batch
    assert paced.stats().totals().sent == 40 and paced.stats().totals().throttled == 2


# --- against the directory's throttler --------------------------------------------------------------


def simulate(config: PacingConfig, limits: Limits, seconds: float, concurrency: int = 8) -> PacingStats:
    """Workers that reserve a $batch of 20, send its items through the directory's throttler when the pacer
    lets them and record the answers 100 ms later; the client itself manages 300 requests/s at most."""
    clock = FakeClock()
    clock.now = 0.0
    throttler = Throttler(clock=clock, default=TenantThrottling(mode=ThrottleMode.CUSTOM, custom=limits))
    paced = Pacer(config, clock=clock, sleep=clock.sleep)
    events: list[tuple[float, int, str, list[Answer]]] = [(0.0, worker, "reserve", []) for worker in range(8)]
    heapq.heapify(events)
    busy_until = 0.0
    while events:
        moment, worker, kind, answers = heapq.heappop(events)
        if moment > seconds:
            break
        clock.now = moment
        if kind == "reserve":
            start = max(moment + paced.reserve(20), busy_until)
            busy_until = start + 20 / 300
            heapq.heappush(events, (start, worker, "send", []))
        elif kind == "send":
            decisions = [
                throttler.decide(app_id="app", tenant_id="tenant", method="PATCH", path="/v1.0/devices/x")
                for _ in range(20)
            ]
            sent = [Answer.of(d.status_code, d.headers) for d in decisions]
            heapq.heappush(events, (moment + 0.1, worker, "answer", sent))
        else:
            paced.record(answers)
            heapq.heappush(events, (moment, worker, "reserve", []))
    return paced.stats()


def limits(writes: Limit) -> Limits:
    roomy = Limit(1_000_000, 10)
    return Limits(roomy, writes, roomy, roomy, roomy, Limit(1, 1))


@pytest.mark.parametrize("initial_rate", [20.0, 1_000.0])
def test_converges_just_under_the_documented_write_limit(initial_rate: float) -> None:
    stats = simulate(PacingConfig(initial_rate=initial_rate), limits(Limit(3_000, 150)), 400)
    settled = stats.totals(since=30)
    assert settled.accepted / (400 - 30) >= 0.95 * 20
    assert settled.throttled <= 0.01 * settled.sent


def test_adapts_to_a_small_limit_from_a_fast_start() -> None:
    stats = simulate(PacingConfig(initial_rate=500.0), limits(Limit(200, 20)), 180)
    settled = stats.totals(since=30)
    assert settled.accepted / 150 >= 0.95 * 10
    assert settled.throttled <= 0.01 * settled.sent
    assert stats.totals(until=30).throttled > 0  # it did find the limit by hitting it
