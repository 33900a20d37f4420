"""Microsoft Graph's throttling for identity and access, as documented, for the directory emulator.

Source: learn.microsoft.com/graph/throttling-limits, "Identity and access service limits" and
"Identity protection and conditional access service limits" (microsoftgraph/microsoft-graph-docs-contrib
concepts/throttling-limits.md); summarised in docs graph-facts.md §9.

- Token buckets of summed request costs; a request over any limit gets ``429 Too Many Requests``:

  ============================  ================================================  ===================
  limit                          resource units                                    writes
  ============================  ================================================  ===================
  application + tenant           S (<50 users) 3,500 / M (50-500) 5,000 /          3,000 per 2 min 30 s
                                 L (>500) 8,000 per 10 s
  application (all tenants)      150,000 per 20 s                                  70,000 per 5 min
  tenant (all applications)      n/a                                               18,000 per 5 min
  ============================  ================================================  ===================

- Request cost: base cost from the documented table (GET users 2, GET applications 2, GET
  groups/{id}/members 3, transitiveMembers 5, POST getByIds 3, checkMemberGroups 4, subscribedSkus 3,
  ...), any other GET 1 RU and no write, POST/PATCH/PUT/DELETE 1 RU + 1 write; ``$select`` -1,
  ``$expand`` +1, ``$top`` below 20 -1; never below 1.
- Headers: ``x-ms-resource-unit`` on every response; ``x-ms-throttle-limit-percentage`` only above 0.8
  (0.8 to 1.8); on 429 ``x-ms-throttle-scope`` ``<Tenant_Application|Tenant|Application>/
  <Read|Write|ReadWrite>/<appId>/<tenantId>`` and ``x-ms-throttle-information``
  (``ResourceUnitLimitExceeded``, ``WriteLimitExceeded``) and ``Retry-After`` in whole seconds.
- Conditional Access policies, named locations and identity protection: 1 request per second per
  tenant for all apps, and their 429 carries *no* ``Retry-After``.

A bucket that has sat idle for a whole window is full again, so idle buckets are dropped without
changing any decision: memory stays proportional to the keys active in the last window. The clock is
injected (``clock() -> seconds``, monotonic) and every decision is taken under one lock. Fault
injection (random 429/500/503/504 at a rate, from an injected ``random.Random``) lets tests and the
partner service's retry logic meet failures the limits alone would not produce.
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from posturebridge.directory.graph.errors import GraphError, too_many_requests

Clock = Callable[[], float]


class TenantSize(Enum):
    S = "S"
    M = "M"
    L = "L"

    @classmethod
    def for_user_count(cls, users: int) -> TenantSize:
        """S under 50 users, M from 50 to 500, L above 500 (throttling-limits note)."""
        if users < 50:
            return cls.S
        return cls.M if users <= 500 else cls.L


@dataclass(frozen=True, slots=True)
class Limit:
    """``capacity`` units per ``window_seconds``, refilled continuously."""

    capacity: float
    window_seconds: float

    @property
    def rate(self) -> float:
        return self.capacity / self.window_seconds


@dataclass(frozen=True, slots=True)
class Limits:
    """The identity-and-access quotas; ``documented(size)`` gives Microsoft's published numbers."""

    app_tenant_resource_units: Limit
    app_tenant_writes: Limit
    tenant_writes: Limit
    app_resource_units: Limit
    app_writes: Limit
    conditional_access: Limit

    @classmethod
    def documented(cls, size: TenantSize) -> Limits:
        per_10s = {TenantSize.S: 3_500, TenantSize.M: 5_000, TenantSize.L: 8_000}[size]
        return cls(
            app_tenant_resource_units=Limit(per_10s, 10),
            app_tenant_writes=Limit(3_000, 150),
            tenant_writes=Limit(18_000, 300),
            app_resource_units=Limit(150_000, 20),
            app_writes=Limit(70_000, 300),
            conditional_access=Limit(1, 1),
        )


class ThrottleMode(Enum):
    OFF = "off"
    DOCUMENTED = "documented"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class FaultInjection:
    """Fail ``rate`` of the requests (0..1) with a status drawn uniformly from ``statuses``."""

    rate: float
    statuses: tuple[int, ...] = (429, 500, 503, 504)
    retry_after: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not self.statuses or any(s not in _FAULTS for s in self.statuses):
            raise ValueError(f"statuses must be among {sorted(_FAULTS)}")


@dataclass(frozen=True, slots=True)
class TenantThrottling:
    """How one tenant is throttled: off, Microsoft's documented limits for its size, or custom ones."""

    mode: ThrottleMode = ThrottleMode.DOCUMENTED
    size: TenantSize = TenantSize.S
    custom: Limits | None = None
    faults: FaultInjection | None = None

    def __post_init__(self) -> None:
        if self.mode is ThrottleMode.CUSTOM and self.custom is None:
            raise ValueError("custom mode needs custom limits")

    def limits(self) -> Limits | None:
        if self.mode is ThrottleMode.OFF:
            return None
        if self.mode is ThrottleMode.CUSTOM:
            assert self.custom is not None
            return self.custom
        return Limits.documented(self.size)


# ------------------------------------------------------------------------------------------ request cost


@dataclass(frozen=True, slots=True)
class Cost:
    resource_units: int
    writes: int


@dataclass(frozen=True, slots=True)
class _CostRule:
    method: str
    path: re.Pattern[str]
    resource_units: int


_ID: Final = r"[^/]+"
_SELF: Final = rf"(?:me|users/{_ID})"


def _rule(method: str, path: str, units: int) -> _CostRule:
    return _CostRule(method, re.compile(rf"{path}", re.IGNORECASE), units)


# The documented base costs (throttling-limits.md, "base request costs"); the rules for me/ apply to
# users/{id | userPrincipalName}/ as the docs say. Requests listed cost no write, whatever the method.
COST_RULES: Final[tuple[_CostRule, ...]] = (
    _rule("GET", r"applications", 2),
    _rule("GET", rf"applications/{_ID}/extensionProperties", 2),
    _rule("GET", r"contracts", 3),
    _rule("POST", r"directoryObjects/getByIds", 3),
    _rule("GET", rf"domains/{_ID}/domainNameReferences", 4),
    _rule("POST", r"getObjectsById", 3),
    _rule("GET", rf"groups/{_ID}/members", 3),
    _rule("GET", rf"groups/{_ID}/transitiveMembers", 5),
    _rule("POST", r"isMemberOf", 4),
    _rule("POST", rf"{_SELF}/checkMemberGroups", 4),
    _rule("POST", rf"{_SELF}/checkMemberObjects", 4),
    _rule("POST", rf"{_SELF}/getMemberGroups", 2),
    _rule("POST", rf"{_SELF}/getMemberObjects", 2),
    _rule("GET", rf"{_SELF}/licenseDetails", 2),
    _rule("GET", rf"{_SELF}/memberOf", 2),
    _rule("GET", rf"{_SELF}/ownedObjects", 2),
    _rule("GET", rf"{_SELF}/transitiveMemberOf", 2),
    _rule("GET", r"oauth2PermissionGrants", 2),
    _rule("GET", rf"oauth2PermissionGrants/{_ID}", 2),
    _rule("GET", rf"servicePrincipals/{_ID}/appRoleAssignments", 2),
    _rule("GET", r"subscribedSkus", 3),
    _rule("GET", r"users", 2),
)

_WRITE_METHODS: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_VERSION_RE: Final = re.compile(r"^/*(?:v1\.0|beta)/", re.IGNORECASE)
# Identity protection and conditional access: 1 request/s per tenant, no Retry-After.
_CA_RE: Final = re.compile(
    r"^(?:identity/conditionalAccess/(?:policies|namedLocations)"
    r"|identityProtection/(?:riskDetections|riskyUsers|riskyServicePrincipals))(?:/|\(|$)",
    re.IGNORECASE,
)


def normalize_path(path: str) -> str:
    """``/v1.0/users/{id}?x`` -> ``users/{id}``."""
    path = path.split("?", 1)[0]
    path = _VERSION_RE.sub("", path)
    return path.strip("/")


def is_conditional_access(path: str) -> bool:
    """Whether a path falls under the identity protection and conditional access limit."""
    return bool(_CA_RE.match(normalize_path(path)))


def request_cost(method: str, path: str, query: Mapping[str, str] | None = None) -> Cost:
    """Resource units and writes a request costs, by the documented table and adjustments."""
    method = method.upper()
    normalized = normalize_path(path)
    listed = next(
        (r for r in COST_RULES if r.method == method and r.path.fullmatch(normalized)),
        None,
    )
    if listed is not None:
        units, writes = listed.resource_units, 0
    elif method in _WRITE_METHODS:
        units, writes = 1, 1
    else:
        units, writes = 1, 0
    options = {k.lower().lstrip("$"): v for k, v in (query or {}).items()}
    if "select" in options:
        units -= 1
    if "expand" in options:
        units += 1
    top = options.get("top", "").strip()
    if top.isdigit() and int(top) < 20:
        units -= 1
    return Cost(max(units, 1), writes)


# ---------------------------------------------------------------------------------------------- buckets


@dataclass(slots=True)
class _Bucket:
    limit: Limit
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.limit.capacity, self.tokens + elapsed * self.limit.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` tokens are available (0 if they are now)."""
        missing = amount - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.limit.rate

    def idle_full(self, now: float) -> bool:
        return now - self.updated >= self.limit.window_seconds


@dataclass(frozen=True, slots=True)
class _Check:
    key: tuple[str, ...]
    limit: Limit
    amount: int
    scope: str
    information: str


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    """Whether a request may proceed, and the headers (and for refusals the error) Graph would send."""

    allowed: bool
    status_code: int
    cost: Cost
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: int | None = None
    error: GraphError | None = None

    def body(self) -> dict[str, dict[str, str]] | None:
        """``{"error": {"code", "message"}}`` for a refusal (the handler adds innerError)."""
        if self.error is None:
            return None
        return {"error": {"code": self.error.code, "message": self.error.message}}


def too_many_requests_body(message: str) -> dict[str, dict[str, str]]:
    """The 429 body: ``{"error": {"code": "TooManyRequests", "message": ...}}``."""
    return {"error": {"code": "TooManyRequests", "message": message}}


def _throttled_message(tenant_id: str, app_id: str | None = None) -> str:
    # Shape of the message observed from Graph (learn.microsoft.com/answers/questions/1138873).
    identifier = tenant_id if app_id is None else f"{tenant_id}+{app_id}"
    return f"Too many requests from Identifier:{identifier}. Please try again later."


_FAULTS: Final[Mapping[int, tuple[str, str]]] = {
    429: ("TooManyRequests", "Too many requests. Please try again later."),
    500: ("generalException", "An unspecified error has occurred."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please try again later."),
    504: ("gatewayTimeout", "The gateway did not receive a timely response from the upstream service."),
}


class Throttler:
    """Decides, per request, what Graph's identity-and-access throttling would answer."""

    def __init__(
        self,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        default: TenantThrottling | None = None,
        tenants: Mapping[str, TenantThrottling] | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._default = default or TenantThrottling()
        self._tenants: dict[str, TenantThrottling] = dict(tenants or {})
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def configure(self, tenant_id: str, config: TenantThrottling) -> None:
        """Set one tenant's throttling (off, documented or custom limits, fault injection)."""
        with self._lock:
            self._tenants[tenant_id.lower()] = config

    def config_for(self, tenant_id: str) -> TenantThrottling:
        return self._tenants.get(tenant_id.lower(), self._default)

    @property
    def bucket_count(self) -> int:
        return len(self._buckets)

    def decide(
        self,
        *,
        app_id: str,
        tenant_id: str,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
    ) -> ThrottleDecision:
        """Charge the request to its buckets if every one has room; otherwise refuse it as Graph does."""
        cost = request_cost(method, path, query)
        config = self.config_for(tenant_id)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            if config.faults is not None and self._rng.random() < config.faults.rate:
                return self._fault(config.faults, cost)
            limits = config.limits()
            if limits is None:
                return ThrottleDecision(True, 200, cost, {"x-ms-resource-unit": str(cost.resource_units)})
            if is_conditional_access(path):
                return self._conditional_access(limits, tenant_id, cost, now)
            return self._identity(limits, app_id, tenant_id, cost, now)

    # -- internals (called with the lock held)
    def _bucket(self, key: tuple[str, ...], limit: Limit, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = _Bucket(limit, limit.capacity, now)
            self._buckets[key] = bucket
        else:
            bucket.refill(now)
        return bucket

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < 1.0 and len(self._buckets) < 10_000:
            return
        self._last_sweep = now
        for key in [k for k, b in self._buckets.items() if b.idle_full(now)]:
            del self._buckets[key]

    def _identity(self, limits: Limits, app_id: str, tenant_id: str, cost: Cost, now: float) -> ThrottleDecision:
        app, tenant = app_id.lower(), tenant_id.lower()
        checks = [
            _Check(
                ("ru", app, tenant),
                limits.app_tenant_resource_units,
                cost.resource_units,
                f"Tenant_Application/ReadWrite/{app_id}/{tenant_id}",
                "ResourceUnitLimitExceeded",
            ),
            _Check(
                ("ru", app),
                limits.app_resource_units,
                cost.resource_units,
                f"Application/ReadWrite/{app_id}/{tenant_id}",
                "ResourceUnitLimitExceeded",
            ),
        ]
        if cost.writes:
            checks += [
                _Check(
                    ("w", app, tenant),
                    limits.app_tenant_writes,
                    cost.writes,
                    f"Tenant_Application/Write/{app_id}/{tenant_id}",
                    "WriteLimitExceeded",
                ),
                _Check(
                    ("w", tenant),
                    limits.tenant_writes,
                    cost.writes,
                    f"Tenant/Write/{app_id}/{tenant_id}",
                    "WriteLimitExceeded",
                ),
                _Check(
                    ("w", app),
                    limits.app_writes,
                    cost.writes,
                    f"Application/Write/{app_id}/{tenant_id}",
                    "WriteLimitExceeded",
                ),
            ]
        buckets = [(c, self._bucket(c.key, c.limit, now)) for c in checks]
        refused = [(c, b, b.wait_for(c.amount)) for c, b in buckets if b.wait_for(c.amount) > 0]
        headers = {"x-ms-resource-unit": str(cost.resource_units)}
        if refused:
            check, _, _ = refused[0]
            wait = max(w for _, _, w in refused)
            retry_after = max(1, math.ceil(wait - 1e-9))
            usage = max((b.limit.capacity - b.tokens + c.amount) / b.limit.capacity for c, b in buckets)
            headers["x-ms-throttle-limit-percentage"] = _percentage(usage)
            headers["x-ms-throttle-scope"] = check.scope
            headers["x-ms-throttle-information"] = check.information
            error = too_many_requests(_throttled_message(tenant_id, app_id), retry_after=retry_after)
            headers.update(error.headers)
            return ThrottleDecision(False, 429, cost, headers, retry_after, error)
        for check, bucket in buckets:
            bucket.tokens -= check.amount
        usage = max((b.limit.capacity - b.tokens) / b.limit.capacity for _, b in buckets)
        if usage > 0.8:
            headers["x-ms-throttle-limit-percentage"] = _percentage(usage)
        return ThrottleDecision(True, 200, cost, headers)

    def _conditional_access(self, limits: Limits, tenant_id: str, cost: Cost, now: float) -> ThrottleDecision:
        bucket = self._bucket(("ca", tenant_id.lower()), limits.conditional_access, now)
        headers = {"x-ms-resource-unit": str(cost.resource_units)}
        if bucket.wait_for(1) > 0:
            # Documented: these resources do not return Retry-After on 429.
            error = too_many_requests(_throttled_message(tenant_id), retry_after=None)
            return ThrottleDecision(False, 429, cost, headers, None, error)
        bucket.tokens -= 1
        return ThrottleDecision(True, 200, cost, headers)

    def _fault(self, faults: FaultInjection, cost: Cost) -> ThrottleDecision:
        status = faults.statuses[self._rng.randrange(len(faults.statuses))]
        code, message = _FAULTS[status]
        headers = {"x-ms-resource-unit": str(cost.resource_units)}
        retry_after = faults.retry_after if status in (429, 503) else None
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        error = GraphError(status, code, message, headers=dict(headers))
        return ThrottleDecision(False, status, cost, headers, retry_after, error)


def _percentage(usage: float) -> str:
    return f"{min(max(usage, 0.8), 1.8):.2f}"


def throttling_config(document: Mapping[str, Any]) -> TenantThrottling:
    """A tenant's throttling settings from its stored document; no document means throttling off.

    Document: ``{"mode": "off|documented|custom", "size": "S|M|L", "custom": {limit: [count, seconds]},
    "faults": {"rate": 0.2, "statuses": [429, 503], "retryAfter": 1}}``.
    """
    mode = ThrottleMode(document.get("mode", ThrottleMode.OFF.value))
    faults = document.get("faults")
    custom = document.get("custom")
    return TenantThrottling(
        mode=mode,
        size=TenantSize(document.get("size", "S")),
        custom=Limits(**{name: Limit(int(count), float(seconds)) for name, (count, seconds) in custom.items()})
        if custom
        else None,
        faults=FaultInjection(
            rate=float(faults["rate"]),
            statuses=tuple(int(status) for status in faults.get("statuses", (429, 500, 503, 504))),
            retry_after=int(faults.get("retryAfter", 1)),
        )
        if faults
        else None,
    )
