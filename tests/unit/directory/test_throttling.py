"""Graph's identity-and-access throttling (learn.microsoft.com/graph/throttling-limits) on a fake clock."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from posturebridge.directory.graph.throttling import (
    Cost,
    FaultInjection,
    Limit,
    Limits,
    TenantSize,
    TenantThrottling,
    ThrottleMode,
    Throttler,
    request_cost,
    too_many_requests_body,
)

APP = "9a3d526c-b3c1-4479-ba74-197b5c5751ae"
TENANT = "0785ef7c-2d7a-4542-b048-95bcab406e0b"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def throttler(clock: FakeClock, config: TenantThrottling | None = None, seed: int = 7) -> Throttler:
    return Throttler(clock=clock, rng=random.Random(seed), default=config or TenantThrottling())


def get(t: Throttler, path: str = "/v1.0/devices", *, app: str = APP, tenant: str = TENANT, **query: str):
    return t.decide(app_id=app, tenant_id=tenant, method="GET", path=path, query=query)


def patch(t: Throttler, *, app: str = APP, tenant: str = TENANT):
    return t.decide(app_id=app, tenant_id=tenant, method="PATCH", path="/v1.0/devices/abc", query={})


def allowed_in_a_row(fn, limit: int = 100_000) -> int:  # type: ignore[no-untyped-def]
    for n in range(limit):
        if not fn().allowed:
            return n
    return limit


@pytest.mark.parametrize(("size", "quota"), [(TenantSize.S, 3_500), (TenantSize.M, 5_000), (TenantSize.L, 8_000)])
def test_app_tenant_resource_units_run_out_exactly_at_the_documented_count(
    clock: FakeClock, size: TenantSize, quota: int
) -> None:
    t = throttler(clock, TenantThrottling(size=size))
    assert allowed_in_a_row(lambda: get(t)) == quota
    refused = get(t)
    assert (refused.allowed, refused.status_code) == (False, 429)
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant_Application/ReadWrite/{APP}/{TENANT}"
    assert refused.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert refused.headers["Retry-After"] == "1" and refused.retry_after == 1
    assert refused.body() == {
        "error": {
            "code": "TooManyRequests",
            "message": f"Too many requests from Identifier:{TENANT}+{APP}. Please try again later.",
        }
    }
    # Another application in the same tenant has its own application+tenant bucket.
    assert get(t, app="11111111-1111-1111-1111-111111111111").allowed


def test_tenant_size_follows_the_user_count() -> None:
    assert [TenantSize.for_user_count(n) for n in (0, 49, 50, 500, 501)] == [
        TenantSize.S,
        TenantSize.S,
        TenantSize.M,
        TenantSize.M,
        TenantSize.L,
    ]


def test_get_users_costs_two_so_half_as_many_fit(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(size=TenantSize.M))
    assert allowed_in_a_row(lambda: get(t, "/v1.0/users")) == 2_500


def test_bucket_refills_continuously(clock: FakeClock) -> None:
    t = throttler(clock)
    assert allowed_in_a_row(lambda: get(t)) == 3_500
    clock.advance(1.0)  # 350 RU per second
    assert allowed_in_a_row(lambda: get(t)) == 350
    clock.advance(10.0)
    assert allowed_in_a_row(lambda: get(t)) == 3_500


def test_retry_after_is_the_ceiling_of_the_wait_for_enough_tokens(clock: FakeClock) -> None:
    slow = Limit(10, 10)  # 1 RU per second
    big = Limit(1_000_000, 1)
    limits = Limits(slow, big, big, big, big, Limit(1, 1))
    t = throttler(clock, TenantThrottling(ThrottleMode.CUSTOM, custom=limits))
    assert allowed_in_a_row(lambda: get(t)) == 10
    assert get(t, "/v1.0/users").retry_after == 2  # 2 RU missing at 1 RU/s
    clock.advance(0.5)
    assert get(t, "/v1.0/users").retry_after == 2  # 1.5 s -> 2
    clock.advance(0.6)
    assert get(t, "/v1.0/users").retry_after == 1  # 0.9 s -> 1
    clock.advance(0.9)
    assert get(t, "/v1.0/users").allowed


def test_app_tenant_writes_run_out_at_3000_per_150_seconds(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(size=TenantSize.L))
    assert allowed_in_a_row(lambda: patch(t)) == 3_000
    refused = patch(t)
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant_Application/Write/{APP}/{TENANT}"
    assert refused.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert refused.retry_after == 1  # 20 writes per second
    assert get(t).allowed  # reads still have resource units
    clock.advance(150)
    assert allowed_in_a_row(lambda: patch(t)) == 3_000


def test_tenant_writes_run_out_at_18000_per_5_minutes_across_apps(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(size=TenantSize.L))
    apps = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(7)]
    total = sum(allowed_in_a_row(lambda app=app: patch(t, app=app), 3_000) for app in apps[:6])
    assert total == 18_000
    refused = patch(t, app=apps[6])
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant/Write/{apps[6]}/{TENANT}"
    assert refused.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert patch(t, tenant="another-tenant", app=apps[6]).allowed


def test_application_limits_span_tenants(clock: FakeClock) -> None:
    roomy = Limit(1_000_000, 1)
    limits = Limits(roomy, roomy, roomy, Limit(150, 20), Limit(70, 300), Limit(1, 1))
    t = throttler(clock, TenantThrottling(ThrottleMode.CUSTOM, custom=limits))
    total = sum(allowed_in_a_row(lambda tenant=tenant: get(t, tenant=tenant), 50) for tenant in "abcd")
    assert total == 150
    refused = get(t, tenant="e")
    assert refused.headers["x-ms-throttle-scope"] == f"Application/ReadWrite/{APP}/e"
    assert refused.retry_after == 1  # 7.5 RU per second
    assert get(t, tenant="e", app="other-app").allowed


def test_documented_limits() -> None:
    limits = Limits.documented(TenantSize.M)
    assert limits.app_tenant_resource_units == Limit(5_000, 10)
    assert limits.app_tenant_writes == Limit(3_000, 150)
    assert limits.tenant_writes == Limit(18_000, 300)
    assert limits.app_resource_units == Limit(150_000, 20)
    assert limits.app_writes == Limit(70_000, 300)
    assert limits.conditional_access == Limit(1, 1)


COSTS = [
    ("GET", "/v1.0/users", {}, Cost(2, 0)),
    ("GET", "/v1.0/users/abc", {}, Cost(1, 0)),
    ("GET", "/v1.0/applications", {}, Cost(2, 0)),
    ("GET", "/v1.0/groups/g1/members", {}, Cost(3, 0)),
    ("GET", "/v1.0/groups/g1/transitiveMembers", {}, Cost(5, 0)),
    ("POST", "/v1.0/directoryObjects/getByIds", {}, Cost(3, 0)),
    ("POST", "/v1.0/me/checkMemberGroups", {}, Cost(4, 0)),
    ("POST", "/beta/users/u@contoso.com/checkMemberGroups", {}, Cost(4, 0)),
    ("GET", "/v1.0/subscribedSkus", {}, Cost(3, 0)),
    ("GET", "/v1.0/devices", {}, Cost(1, 0)),
    ("PATCH", "/v1.0/devices/abc", {}, Cost(1, 1)),
    ("POST", "/v1.0/devices", {}, Cost(1, 1)),
    ("DELETE", "/v1.0/devices/abc", {}, Cost(1, 1)),
    ("PUT", "/v1.0/x", {}, Cost(1, 1)),
    ("GET", "/v1.0/users", {"$select": "id"}, Cost(1, 0)),
    ("GET", "/v1.0/users", {"$expand": "manager"}, Cost(3, 0)),
    ("GET", "/v1.0/users", {"$top": "19"}, Cost(1, 0)),
    ("GET", "/v1.0/users", {"$top": "20"}, Cost(2, 0)),
    ("GET", "/v1.0/groups/g/transitiveMembers", {"$select": "id", "$top": "5"}, Cost(3, 0)),
    ("GET", "/v1.0/devices", {"$select": "id", "$top": "5"}, Cost(1, 0)),  # never below 1
    ("PATCH", "/v1.0/devices/abc", {"$select": "id"}, Cost(1, 1)),
]


@pytest.mark.parametrize(("method", "path", "query", "expected"), COSTS)
def test_request_cost_rules(method: str, path: str, query: dict[str, str], expected: Cost) -> None:
    assert request_cost(method, path, query) == expected


def test_every_response_carries_its_resource_units_and_the_percentage_only_above_80(clock: FakeClock) -> None:
    t = throttler(clock)  # 3,500 per 10 s
    first = get(t, "/v1.0/users")
    assert first.headers == {"x-ms-resource-unit": "2"}
    for _ in range(1_398):
        get(t, "/v1.0/users")  # 2,798 RU used: 0.7994
    assert "x-ms-throttle-limit-percentage" not in get(t).headers  # 2,799: 0.7997
    near = get(t)  # 2,800 RU: 0.8 exactly, not above
    assert "x-ms-throttle-limit-percentage" not in near.headers
    above = get(t)
    assert float(above.headers["x-ms-throttle-limit-percentage"]) == pytest.approx(0.80, abs=0.01)


@pytest.mark.parametrize(
    "path",
    [
        "/v1.0/identity/conditionalAccess/policies",
        "/v1.0/identity/conditionalAccess/policies/p1",
        "/beta/identity/conditionalAccess/namedLocations",
        "/v1.0/identityProtection/riskyUsers",
    ],
)
def test_conditional_access_apis_allow_one_request_per_second_per_tenant_without_retry_after(
    clock: FakeClock, path: str
) -> None:
    t = throttler(clock)
    assert get(t, path).allowed
    refused = get(t, path, app="another-app")  # the limit is per tenant, for all apps
    assert refused.status_code == 429
    assert refused.retry_after is None and "Retry-After" not in refused.headers
    assert refused.error is not None and "Retry-After" not in refused.error.headers
    assert get(t, path, tenant="other-tenant").allowed
    assert get(t, "/v1.0/devices").allowed  # other identity APIs are unaffected
    clock.advance(1.0)
    assert get(t, path).allowed


def test_off_mode_never_throttles(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(ThrottleMode.OFF))
    assert allowed_in_a_row(lambda: get(t, "/v1.0/users"), 20_000) == 20_000
    assert get(t, "/v1.0/identity/conditionalAccess/policies").allowed
    assert get(t, "/v1.0/identity/conditionalAccess/policies").allowed


def test_custom_limits_apply_per_tenant(clock: FakeClock) -> None:
    t = throttler(clock)
    tiny = Limits(Limit(5, 10), Limit(2, 10), Limit(100, 10), Limit(100, 10), Limit(100, 10), Limit(1, 1))
    t.configure("tiny", TenantThrottling(ThrottleMode.CUSTOM, custom=tiny))
    t.configure("open", TenantThrottling(ThrottleMode.OFF))
    assert allowed_in_a_row(lambda: get(t, tenant="tiny")) == 5
    clock.advance(10)
    assert allowed_in_a_row(lambda: patch(t, tenant="tiny")) == 2
    assert allowed_in_a_row(lambda: get(t, tenant="open"), 5_000) == 5_000
    assert allowed_in_a_row(lambda: get(t)) == 3_500  # everyone else: documented, size S
    with pytest.raises(ValueError):
        TenantThrottling(ThrottleMode.CUSTOM)


def test_fault_injection_rate_and_statuses_on_a_seeded_rng(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(ThrottleMode.OFF, faults=FaultInjection(rate=0.1)), seed=42)
    decisions = [get(t) for _ in range(20_000)]
    failed = [d for d in decisions if not d.allowed]
    assert 0.09 <= len(failed) / len(decisions) <= 0.11
    by_status = Counter(d.status_code for d in failed)
    assert set(by_status) == {429, 500, 503, 504}
    assert all(0.2 <= n / len(failed) <= 0.3 for n in by_status.values())
    for d in failed:
        assert d.error is not None and d.error.status_code == d.status_code
        assert ("Retry-After" in d.headers) == (d.status_code in (429, 503))
    same_seed = throttler(clock, TenantThrottling(ThrottleMode.OFF, faults=FaultInjection(rate=0.1)), seed=42)
    assert [get(same_seed).status_code for _ in range(200)] == [d.status_code for d in decisions[:200]]


def test_fault_injection_can_be_limited_to_some_statuses_and_off(clock: FakeClock) -> None:
    t = throttler(clock, TenantThrottling(faults=FaultInjection(rate=1.0, statuses=(503,), retry_after=7)))
    d = get(t)
    assert (d.status_code, d.retry_after, d.headers["Retry-After"]) == (503, 7, "7")
    assert d.body() == {"error": {"code": "serviceNotAvailable", "message": d.error.message}}  # type: ignore[union-attr]
    quiet = throttler(clock, TenantThrottling(faults=FaultInjection(rate=0.0)))
    assert allowed_in_a_row(lambda: get(quiet), 1_000) == 1_000
    with pytest.raises(ValueError):
        FaultInjection(rate=1.5)
    with pytest.raises(ValueError):
        FaultInjection(rate=0.5, statuses=(418,))


def test_idle_buckets_expire_so_memory_stays_bounded(clock: FakeClock) -> None:
    t = throttler(clock)
    for i in range(2_000):
        get(t, tenant=f"tenant-{i}")
    assert t.bucket_count >= 2_000
    clock.advance(21)  # longer than every read window: those buckets are full again
    get(t)
    assert t.bucket_count <= 2


def test_concurrent_requests_never_overspend_a_bucket(clock: FakeClock) -> None:
    t = throttler(clock)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [get(t).allowed for _ in range(1_000)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count(True) == 3_500


def test_too_many_requests_body_shape() -> None:
    assert too_many_requests_body("slow down") == {"error": {"code": "TooManyRequests", "message": "slow down"}}
