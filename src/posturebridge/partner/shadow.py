"""Shadow mode: record what delivery would write to the directory, and who would lose access, without writing.

Admins ask for this before they enforce: with ``shadow_mode`` on, every delivery channel is replaced by a
:class:`ShadowChannel` of the same name. For each claimed device it

1. reads the directory's device record (``GET /devices(deviceId='…')``) to know what the write would change;
2. when the write would lower the device's standing (``isCompliant`` or ``isManaged`` from true to false),
   asks the tenant's Conditional Access "What If" API (``POST /identity/conditionalAccess/evaluate``,
   graph-facts.md §10) for every registered user of the device and every application that an enabled
   policy requiring a compliant or joined device names, once with the device as it is and once as it
   would be, and judges from the applied policies' grant controls whether the user could still sign in;
3. answers with a :class:`~posturebridge.partner.channels.Delivery` carrying a :class:`ShadowRecordIn`,
   which the queue stores (state ``shadowed``, nothing counted as written) and appends to the device's CA
   log as a "shadow" call.

Turning shadow mode off puts every shadowed item back in the queue, so enforcement writes them for real.

What the judgement assumes (the What If API says which policies apply, not whether the user passes them):
controls the user can satisfy at sign-in (MFA, authentication strength, terms of use, app protection,
password change) count as satisfiable; ``compliantDevice`` needs ``isCompliant``, ``domainJoinedDevice``
needs ``trustType`` ServerAd; a ``block`` policy blocks. Report-only policies never take access away.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.partner import queue
from posturebridge.partner.channels import ChannelRegistry, Delivery
from posturebridge.partner.graph_client import ApiResponse, GraphClient, compact, odata_quote
from posturebridge.partner.queue import CallRecordIn, Claimed

CA_LOG_CHANNEL = "shadow mode"
DEVICE_CONTROLS = frozenset({"compliantDevice", "domainJoinedDevice"})
# The What If API evaluates one named application; "All" and the Office 365 group are judged on Exchange
# Online, which both include (graph-facts.md §3, the Office365 app group).
EXCHANGE_ONLINE = "00000002-0000-0ff1-ce00-000000000000"
APP_GROUPS = {"All": EXCHANGE_ONLINE, "Office365": EXCHANGE_ONLINE}
DEVICE_SELECT = (
    "id,deviceId,displayName,isCompliant,isManaged,operatingSystem,operatingSystemVersion,trustType,"
    "mdmAppId,model,manufacturer,profileType"
)
DEVICE_INFO_FIELDS = (
    "deviceId",
    "displayName",
    "isCompliant",
    "mdmAppId",
    "manufacturer",
    "model",
    "operatingSystem",
    "operatingSystemVersion",
    "profileType",
    "trustType",
)


@dataclass(frozen=True)
class LostAccess:
    """One user who could sign in to ``application`` from the device today and could not after the write."""

    user_id: str
    user_principal_name: str
    application: str
    policies: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "userPrincipalName": self.user_principal_name,
            "application": self.application,
            "policies": list(self.policies),
        }


@dataclass(frozen=True)
class ShadowRecordIn:
    """What a shadowed delivery would have written, what the directory holds, and who would lose access."""

    device_id: str
    version: int
    channel: str
    entra_device_id: str | None
    recorded_at: dt.datetime
    would_write: dict[str, Any]
    directory_before: dict[str, Any] | None
    lost_access: tuple[LostAccess, ...] = ()
    error: str | None = None

    def summary(self) -> str:
        """One line for the device's CA log."""
        write = compact(self.would_write)
        if self.error:
            return f"would write {write}; impact unknown: {self.error}"
        if self.directory_before is None:
            return f"would write {write}; the device is not in the directory"
        changed = {k: v for k, v in self.would_write.items() if self.directory_before.get(k) != v}
        if not changed:
            return f"would write {write}; the directory already says so"
        if not self.lost_access:
            return f"would write {write}; nobody would lose access"
        who = ", ".join(
            f"{lost.user_principal_name} to {lost.application} ({', '.join(lost.policies)})"
            for lost in self.lost_access
        )
        return f"would write {write}; would lose access: {who}"


def access_blockers(applied: Sequence[Mapping[str, Any]], device: Mapping[str, Any]) -> list[str]:
    """Display names of the enabled policies among ``applied`` (What If results with policyApplies true)
    that the user could not satisfy from ``device``; empty when the sign-in would be granted."""
    blocking = []
    for policy in applied:
        if policy.get("state") != "enabled" or not policy.get("policyApplies"):
            continue
        grant = policy.get("grantControls") or {}
        controls = [str(c) for c in grant.get("builtInControls") or []]
        has_others = bool(
            grant.get("authenticationStrength") or grant.get("termsOfUse") or grant.get("customAuthenticationFactors")
        )
        if not controls and not has_others:
            continue  # session controls only: nothing to satisfy
        met = [_satisfiable(control, device) for control in controls] + ([True] if has_others else [])
        passed = any(met) if str(grant.get("operator", "OR")).upper() == "OR" else all(met)
        if not passed:
            blocking.append(str(policy.get("displayName") or policy.get("id")))
    return blocking


def _satisfiable(control: str, device: Mapping[str, Any]) -> bool:
    if control == "block":
        return False
    if control == "compliantDevice":
        return device.get("isCompliant") is True
    if control == "domainJoinedDevice":
        return device.get("trustType") == "ServerAd"
    return True  # mfa, approvedApplication, compliantApplication, passwordChange: the user can meet them


def device_applications(policies: Sequence[Mapping[str, Any]]) -> list[str]:
    """The applications named by enabled policies that ask for a compliant or joined device (group values
    mapped to an application they include), in a stable order."""
    found: dict[str, None] = {}
    for policy in policies:
        grant = policy.get("grantControls") or {}
        if policy.get("state") != "enabled" or not DEVICE_CONTROLS & set(grant.get("builtInControls") or []):
            continue
        applications = (policy.get("conditions") or {}).get("applications") or {}
        for app_id in applications.get("includeApplications") or []:
            if app_id not in ("None", "MicrosoftAdminPortals"):
                found[APP_GROUPS.get(str(app_id), str(app_id))] = None
    return list(found)


@dataclass
class ShadowChannel:
    """Stands in for the channel called ``name``: reads, asks What If, writes nothing."""

    name: str
    graph: GraphClient
    clock: Callable[[], dt.datetime] = utcnow
    chunk_size: int = 20
    policy_seconds: float = 30.0
    _policies: tuple[float, list[dict[str, Any]]] | None = field(default=None, repr=False)

    def deliver(self, items: Sequence[Claimed]) -> list[Delivery]:
        return [self._one(item) for item in items]

    def _one(self, item: Claimed) -> Delivery:
        state = item.state
        assert state.entra_device_id is not None, "unlinked devices are never claimed"
        would = {"isManaged": state.is_managed, "isCompliant": state.is_compliant}
        now = self.clock()
        answer = self.graph.send(
            "GET", f"/devices(deviceId={odata_quote(state.entra_device_id)})?$select={DEVICE_SELECT}"
        )
        before: dict[str, Any] | None = None
        lost: tuple[LostAccess, ...] = ()
        error: str | None = None
        if answer.ok and isinstance(answer.body, dict):
            before = answer.body
            try:
                lost = self._lost_access(before, would)
            except ShadowLookupError as exc:
                error = str(exc)
        elif answer.status != 404:
            return self._failed(item, answer, now)
        record = ShadowRecordIn(
            item.device_id, item.version, self.name, state.entra_device_id, now, would, before, lost, error
        )
        call = CallRecordIn(item.device_id, now, CA_LOG_CHANNEL, record.summary(), None, None, answer.correlation_id)
        return Delivery(item=item, status=200, calls=(call,), shadow=record)

    def _failed(self, item: Claimed, answer: ApiResponse, now: dt.datetime) -> Delivery:
        call = CallRecordIn(
            item.device_id,
            now,
            CA_LOG_CHANNEL,
            "GET the device record to judge the write",
            answer.status or None,
            answer.error_text(),
            answer.correlation_id,
        )
        return Delivery(
            item=item, status=answer.status, retry_after=answer.retry_after, error=answer.error_text(), calls=(call,)
        )

    def _lost_access(self, before: dict[str, Any], would: dict[str, Any]) -> tuple[LostAccess, ...]:
        lowered = any(before.get(name) is True and value is False for name, value in would.items())
        if not lowered:
            return ()
        applications = device_applications(self._enabled_policies())
        if not applications:
            return ()
        after = {**before, **would}
        users = self._read(f"/devices/{before['id']}/registeredUsers?$select=id,userPrincipalName").get("value", [])
        lost = []
        for user in users:
            for application in applications:
                was = access_blockers(self._what_if(user["id"], application, before), before)
                will = access_blockers(self._what_if(user["id"], application, after), after)
                if not was and will:
                    lost.append(LostAccess(user["id"], str(user.get("userPrincipalName")), application, tuple(will)))
        return tuple(lost)

    def _enabled_policies(self) -> list[dict[str, Any]]:
        moment = time.monotonic()
        if self._policies is None or moment - self._policies[0] > self.policy_seconds:
            found = self._read("/identity/conditionalAccess/policies").get("value", [])
            self._policies = (moment, [p for p in found if isinstance(p, dict)])
        return self._policies[1]

    def _what_if(self, user_id: str, application: str, device: Mapping[str, Any]) -> list[dict[str, Any]]:
        body = {
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
            "signInContext": {
                "@odata.type": "#microsoft.graph.applicationContext",
                "includeApplications": [application],
            },
            "signInConditions": {
                "clientAppType": "browser",
                "deviceInfo": {name: device[name] for name in DEVICE_INFO_FIELDS if device.get(name) is not None},
            },
            "appliedPoliciesOnly": True,
        }
        answer = self.graph.send("POST", "/identity/conditionalAccess/evaluate", json_body=body)
        if not answer.ok or not isinstance(answer.body, dict):
            raise ShadowLookupError(f"What If for user {user_id}: {answer.error_text()}")
        return [r for r in answer.body.get("value", []) if isinstance(r, dict)]

    def _read(self, path: str) -> dict[str, Any]:
        answer = self.graph.send("GET", path)
        if not answer.ok or not isinstance(answer.body, dict):
            raise ShadowLookupError(f"GET {path.split('?')[0]}: {answer.error_text()}")
        return answer.body


def channels_for_mode(
    shadow_mode: bool,
    registry: ChannelRegistry,
    graph: GraphClient | None,
    sessions: sessionmaker[Session],
    now: dt.datetime,
) -> ChannelRegistry:
    """The channels to deliver through: in shadow mode each replaced by a :class:`ShadowChannel` reading through
    ``graph``; otherwise ``registry`` as it is, and every item shadow mode left ``shadowed`` is due again."""
    if shadow_mode:
        return registry if graph is None else registry.replaced(lambda name: ShadowChannel(name, graph))
    with unit_of_work(sessions) as session:
        queue.release_shadowed(session, now)
        session.commit()
    return registry


class ShadowLookupError(Exception):
    """A read that the impact judgement needs failed; the record says the impact is unknown."""
