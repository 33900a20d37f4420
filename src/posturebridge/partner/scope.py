"""Which users' devices the partner reports: the compliance partner record's assignments in the directory and
the licences the users and the tenant hold ("Sync directory services" in the seed).

- **Scope.** ``/beta/deviceManagement/complianceManagementPartners`` lists, per platform, whether the partner
  is onboarded and its enrolment assignments: ``groupAssignmentTarget`` (include a group),
  ``allLicensedUsersAssignmentTarget``/``allDevicesAssignmentTarget`` (all users) and
  ``exclusionGroupAssignmentTarget`` (exclude a group). Groups count with their nested members
  (``transitiveMembers``, paged); an exclusion wins over any inclusion (graph-facts.md §3, §7).
- **Licences.** A user's ``assignedLicenses`` (``skuId`` minus ``disabledPlans``) resolved through the
  tenant's ``subscribedSkus`` service plans: the Intune partner channel needs ``INTUNE_A`` on the user
  ("an Intune license must be applied to the affected users", seed), every channel needs the tenant's
  Microsoft Entra ID P1 (``AAD_PREMIUM``) for Conditional Access.
- A run is stored as a ``DirectorySync`` row (the snapshot and the changes since the previous run), so a
  restarted service diffs against what it saw before it stopped.

``compute`` and ``diff`` and ``verdict`` are pure; ``read_directory`` does the Graph calls. Nothing here
writes to the directory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.partner.channels import INTUNE, WINDOWS
from posturebridge.partner.graph_client import GraphClient, GraphError
from posturebridge.partner.models import DirectorySync

INTUNE_PLAN = "INTUNE_A"
ENTRA_P1_PLAN = "AAD_PREMIUM"
INCLUDE, EXCLUDE = "groupAssignmentTarget", "exclusionGroupAssignmentTarget"
ALL_USERS = frozenset({"allLicensedUsersAssignmentTarget", "allDevicesAssignmentTarget"})
ACTIVE_SKU = frozenset({"Enabled", "Warning"})
PARTNER_PLATFORMS = ("android", "ios", "macOs", "linux", "windows")
# MDM platform -> the platform of the complianceManagementPartner record.
PARTNER_PLATFORM = {
    "iOS": "ios",
    "iPadOS": "ios",
    "android": "android",
    "macOS": "macOs",
    "linux": "linux",
    "windows": "windows",
}


@dataclass(frozen=True)
class Placement:
    """A user's place in one platform's assignments: in scope or not, and the assignment that decided."""

    in_scope: bool
    reason: str


@dataclass(frozen=True)
class ScopedUser:
    id: str
    user_principal_name: str
    placements: Mapping[str, Placement]
    """Partner platform -> placement, for every platform whose assignments name the user (or all users)."""
    intune_licensed: bool
    immutable_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "userPrincipalName": self.user_principal_name,
            "placements": {p: [v.in_scope, v.reason] for p, v in sorted(self.placements.items())},
            "intuneLicensed": self.intune_licensed,
            "onPremisesImmutableId": self.immutable_id,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ScopedUser:
        return cls(
            str(document["id"]),
            str(document["userPrincipalName"]),
            {p: Placement(bool(v[0]), str(v[1])) for p, v in document.get("placements", {}).items()},
            bool(document.get("intuneLicensed")),
            document.get("onPremisesImmutableId"),
        )


@dataclass(frozen=True)
class ScopeSnapshot:
    """The directory as the partner's scope sees it at ``taken_at``."""

    taken_at: dt.datetime
    entra_p1: bool
    onboarded: frozenset[str]
    """Partner platforms some matching compliance partner record is onboarded for."""
    users: Mapping[str, ScopedUser]
    """Lower-case userPrincipalName -> user, for users named by an assignment (or all users)."""
    partners: tuple[str, ...] = ()

    def user(self, user_principal_name: str) -> ScopedUser | None:
        return self.users.get(user_principal_name.lower())

    def to_json(self) -> dict[str, Any]:
        return {
            "takenAt": self.taken_at.isoformat(),
            "entraP1": self.entra_p1,
            "onboarded": sorted(self.onboarded),
            "partners": list(self.partners),
            "users": [user.to_json() for _, user in sorted(self.users.items())],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ScopeSnapshot:
        users = [ScopedUser.from_json(item) for item in document.get("users", [])]
        return cls(
            dt.datetime.fromisoformat(str(document["takenAt"])),
            bool(document.get("entraP1")),
            frozenset(document.get("onboarded", [])),
            {user.user_principal_name.lower(): user for user in users},
            tuple(document.get("partners", [])),
        )


@dataclass(frozen=True)
class ScopeChange:
    """One difference between two snapshots, as logged and stored: ``kind`` is ``userAdded`` /
    ``userRemoved`` (per platform), ``licenceGained`` / ``licenceLost`` (INTUNE_A), ``tenantLicenceGained`` /
    ``tenantLicenceLost`` (Entra ID P1), ``platformOnboarded`` / ``platformOffboarded``."""

    kind: str
    subject: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}: {self.detail}"


@dataclass(frozen=True)
class DirectoryFacts:
    """What ``read_directory`` fetched: the raw material of a snapshot."""

    partners: Sequence[Mapping[str, Any]]
    users: Sequence[Mapping[str, Any]]
    group_members: Mapping[str, frozenset[str]]
    """Group id -> ids of its transitive user members (a group that no longer exists has none)."""
    group_names: Mapping[str, str]
    skus: Sequence[Mapping[str, Any]]


# --- pure core ---


def targets_of(partner: Mapping[str, Any], platform: str) -> list[tuple[str, str | None]]:
    """(target type, groupId) of a platform's enrolment assignments."""
    found = []
    for assignment in partner.get(f"{platform}EnrollmentAssignments") or []:
        target = assignment.get("target") if isinstance(assignment, Mapping) else None
        if isinstance(target, Mapping):
            kind = str(target.get("@odata.type", "")).lstrip("#").removeprefix("microsoft.graph.")
            found.append((kind, target.get("groupId")))
    return found


def place(
    targets: Iterable[tuple[str, str | None]], member_of: frozenset[str], names: Mapping[str, str]
) -> Placement | None:
    """Where one user stands in one platform's assignments; None when no assignment names the user."""

    def shown(group_id: str | None) -> str:
        name = names.get(group_id or "")
        return f"group '{name}' ({group_id})" if name else f"group {group_id}"

    included: str | None = None
    for kind, group_id in targets:
        if kind == EXCLUDE and group_id in member_of:
            return Placement(False, f"excluded by {shown(group_id)}")
        if included is None and kind in ALL_USERS:
            included = "assigned to all users"
        elif included is None and kind == INCLUDE and group_id in member_of:
            included = f"included by {shown(group_id)}"
    return Placement(True, included) if included else None


def licence_plans(skus: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """skuId -> {servicePlanId: servicePlanName} of the tenant's active subscriptions."""
    plans: dict[str, dict[str, str]] = {}
    for sku in skus:
        if sku.get("capabilityStatus", "Enabled") not in ACTIVE_SKU:
            continue
        plans[str(sku.get("skuId", "")).lower()] = {
            str(plan.get("servicePlanId", "")).lower(): str(plan.get("servicePlanName", ""))
            for plan in sku.get("servicePlans") or []
        }
    return plans


def has_plan(assigned: Iterable[Mapping[str, Any]], plans: Mapping[str, Mapping[str, str]], name: str) -> bool:
    """Whether an assigned licence includes the service plan ``name`` without disabling it."""
    for licence in assigned:
        disabled = {str(p).lower() for p in licence.get("disabledPlans") or []}
        granted = plans.get(str(licence.get("skuId", "")).lower(), {})
        if any(plan == name and plan_id not in disabled for plan_id, plan in granted.items()):
            return True
    return False


def compute(facts: DirectoryFacts, now: dt.datetime, partner_name: str | None = None) -> ScopeSnapshot:
    """The snapshot of the users in scope, per platform, with their Intune licence."""
    partners = [p for p in facts.partners if partner_name is None or p.get("displayName") == partner_name]
    onboarded: dict[str, Mapping[str, Any]] = {}
    for partner in partners:
        for platform in PARTNER_PLATFORMS:
            if partner.get(f"{platform}Onboarded") and platform not in onboarded:
                onboarded[platform] = partner
    plans = licence_plans(facts.skus)
    member_of: dict[str, set[str]] = {}
    for group_id, members in facts.group_members.items():
        for user_id in members:
            member_of.setdefault(user_id, set()).add(group_id)
    users: dict[str, ScopedUser] = {}
    for user in facts.users:
        user_id, upn = str(user.get("id")), user.get("userPrincipalName")
        if not upn:
            continue
        groups = frozenset(member_of.get(user_id, ()))
        placements = {}
        for platform, partner in onboarded.items():
            found = place(targets_of(partner, platform), groups, facts.group_names)
            if found is not None:
                placements[platform] = found
        if placements:
            licensed = has_plan(user.get("assignedLicenses") or [], plans, INTUNE_PLAN)
            users[str(upn).lower()] = ScopedUser(
                user_id, str(upn), placements, licensed, user.get("onPremisesImmutableId")
            )
    entra_p1 = any(ENTRA_P1_PLAN in granted.values() for granted in plans.values())
    names = tuple(sorted({str(p.get("displayName")) for p in onboarded.values()}))
    return ScopeSnapshot(now, entra_p1, frozenset(onboarded), users, names)


def in_scope(user: ScopedUser | None, platform: str) -> bool:
    placement = user.placements.get(platform) if user else None
    return placement is not None and placement.in_scope


def diff(previous: ScopeSnapshot | None, current: ScopeSnapshot) -> list[ScopeChange]:
    """What changed since ``previous`` (nothing for the first snapshot: there is nothing to compare)."""
    if previous is None:
        return []
    changes: list[ScopeChange] = []
    if previous.entra_p1 != current.entra_p1:
        kind = "tenantLicenceGained" if current.entra_p1 else "tenantLicenceLost"
        changes.append(ScopeChange(kind, "tenant", f"Microsoft Entra ID P1 ({ENTRA_P1_PLAN})"))
    for platform in sorted(current.onboarded ^ previous.onboarded):
        kind = "platformOnboarded" if platform in current.onboarded else "platformOffboarded"
        changes.append(ScopeChange(kind, platform, "compliance partner record"))
    for key in sorted(set(previous.users) | set(current.users)):
        before, after = previous.users.get(key), current.users.get(key)
        shown = after or before
        assert shown is not None
        name = shown.user_principal_name
        for platform in PARTNER_PLATFORMS:
            was, is_in = in_scope(before, platform), in_scope(after, platform)
            if was == is_in:
                continue
            placement = after.placements.get(platform) if after else None
            why = placement.reason if placement else "no longer assigned"
            changes.append(ScopeChange("userAdded" if is_in else "userRemoved", name, f"{platform}: {why}"))
        had = bool(before and before.intune_licensed)
        has = bool(after and after.intune_licensed)
        if before and after and had != has:
            changes.append(ScopeChange("licenceGained" if has else "licenceLost", name, f"Intune ({INTUNE_PLAN})"))
    return changes


def verdict(
    snapshot: ScopeSnapshot, *, tenant: str, channel: str, platform: str, user_principal_name: str | None
) -> str | None:
    """Why a device must not be reported (None: report it). Entra ID P1 counts for every channel; the partner
    record's scope and the Intune licence count for the Intune partner channel, and for Windows only when
    the record onboards Windows (this project's extension; otherwise Windows goes through the MDM app)."""
    if not snapshot.entra_p1:
        return f"tenant {tenant} has no Microsoft Entra ID P1 subscription ({ENTRA_P1_PLAN})"
    partner_platform = PARTNER_PLATFORM.get(platform)
    if channel == WINDOWS and partner_platform not in snapshot.onboarded:
        return None
    if partner_platform is None or partner_platform not in snapshot.onboarded:
        return f"the compliance partner is not onboarded for {platform} in the directory"
    if not user_principal_name:
        return "the device has no enrolled user, and the partner's scope is a set of users"
    user = snapshot.user(user_principal_name)
    placement = user.placements.get(partner_platform) if user else None
    if placement is None or not placement.in_scope:
        why = placement.reason if placement else "not in any assigned group"
        return f"user {user_principal_name} is not in the compliance partner's scope for {platform} ({why})"
    if channel == INTUNE and user is not None and not user.intune_licensed:
        return f"user {user_principal_name} has no Intune licence ({INTUNE_PLAN})"
    return None


# --- the directory over Graph ---


def beta(graph: GraphClient, path: str) -> str:
    return f"{graph.base_url.rstrip('/')}/beta/{path.lstrip('/')}"


def read_directory(graph: GraphClient, partner_name: str | None = None) -> DirectoryFacts:
    """Read what a snapshot needs: the partner records (beta: Linux and Windows are beta only), the groups
    their assignments name with their transitive members, every user with licences, the subscribed SKUs."""
    partners = [p for p in graph.pages(beta(graph, "/deviceManagement/complianceManagementPartners"))]
    wanted = [p for p in partners if partner_name is None or p.get("displayName") == partner_name]
    group_ids = sorted(
        {str(g) for p in wanted for platform in PARTNER_PLATFORMS for _, g in targets_of(p, platform) if g}
    )
    members: dict[str, frozenset[str]] = {}
    names: dict[str, str] = {}
    for group_id in group_ids:
        found = graph.call("GET", f"/groups/{group_id}?$select=id,displayName")
        if found.status == 404:
            members[group_id] = frozenset()
            continue
        if not found.ok or not isinstance(found.body, dict):
            raise GraphError(found.status, "GroupUnavailable", f"group {group_id}: {found.error_text()}")
        names[group_id] = str(found.body.get("displayName") or "")
        members[group_id] = frozenset(
            str(m.get("id"))
            for m in graph.pages(f"/groups/{group_id}/transitiveMembers")
            if str(m.get("@odata.type", "")).endswith("user")
        )
    users = list(graph.pages("/users?$select=id,userPrincipalName,assignedLicenses"))
    skus = list(graph.pages("/subscribedSkus"))
    return DirectoryFacts(partners, users, members, names, skus)


# --- storage ---


@dataclass
class SyncReport:
    trigger: str
    request_id: str | None
    snapshot: ScopeSnapshot
    changes: list[ScopeChange] = field(default_factory=list)
    first: bool = False
    requeued: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "requestId": self.request_id,
            "takenAt": self.snapshot.taken_at.isoformat(),
            "usersInScope": sum(
                1 for u in self.snapshot.users.values() if any(p.in_scope for p in u.placements.values())
            ),
            "entraP1": self.snapshot.entra_p1,
            "onboarded": sorted(self.snapshot.onboarded),
            "first": self.first,
            "changes": [change.to_json() for change in self.changes],
            "requeued": self.requeued,
        }


def latest(session: Session) -> DirectorySync | None:
    return session.scalars(select(DirectorySync).order_by(DirectorySync.id.desc()).limit(1)).first()


def store(
    session: Session, snapshot: ScopeSnapshot, changes: Sequence[ScopeChange], trigger: str, request_id: str | None
) -> DirectorySync:
    row = DirectorySync(
        started_at=snapshot.taken_at,
        trigger=trigger,
        request_id=request_id,
        snapshot=snapshot.to_json(),
        changes=[change.to_json() for change in changes],
    )
    session.add(row)
    return row


def history(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The newest syncs first: when, why, how many users were in scope, and what changed."""
    rows = session.scalars(select(DirectorySync).order_by(DirectorySync.id.desc()).limit(limit))
    found = []
    for row in rows:
        users = row.snapshot.get("users", [])
        found.append(
            {
                "startedAt": row.snapshot.get("takenAt"),
                "trigger": row.trigger,
                "requestId": row.request_id,
                "usersInScope": sum(1 for u in users if any(v[0] for v in u.get("placements", {}).values())),
                "entraP1": bool(row.snapshot.get("entraP1")),
                "changes": list(row.changes),
            }
        )
    return found
