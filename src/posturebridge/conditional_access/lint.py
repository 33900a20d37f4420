"""Every problem in a policy set, as findings a human can act on.

Parse errors, placeholders and unknown fields (from the parser's issues), ids the directory
snapshot does not know, policies that can never apply, conflicting policies, and a compliant-device
policy that would lock users out of device registration or Intune enrolment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from posturebridge.conditional_access.catalog import DEVICE_REGISTRATION_APPS
from posturebridge.conditional_access.model import IssueKind, Policy, PolicyState, fold
from posturebridge.conditional_access.parse import ParsedPolicy
from posturebridge.conditional_access.snapshot import DirectorySnapshot


@dataclass(frozen=True, slots=True)
class Finding:
    policy: str  # displayName (or source when it has none)
    code: str  # parseError, placeholder, unknownField, warning, unknownId, neverApplies, conflict, lockout
    severity: str  # "error" | "warning" | "info"
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.severity}: {self.policy}:{where} [{self.code}] {self.message}"


_ISSUE_CODES = {
    IssueKind.ERROR: ("parseError", "error"),
    IssueKind.PLACEHOLDER: ("placeholder", "error"),
    IssueKind.UNKNOWN_FIELD: ("unknownField", "info"),
    IssueKind.WARNING: ("warning", "info"),
}


def _name(policy: Policy) -> str:
    return policy.display_name or policy.source or policy.id or "(unnamed)"


def lint_policies(parsed: Sequence[ParsedPolicy], snapshot: DirectorySnapshot | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for item in parsed:
        policy = item.policy
        for issue in policy.issues:
            code, severity = _ISSUE_CODES[issue.kind]
            findings.append(Finding(_name(policy), code, severity, issue.message, issue.path))
        findings.extend(_never_applies(policy))
        findings.extend(_lockout(policy))
        if snapshot is not None:
            findings.extend(_unknown_ids(policy, snapshot))
    findings.extend(_conflicts([p.policy for p in parsed]))
    return findings


def _never_applies(policy: Policy) -> list[Finding]:
    c = policy.conditions
    name = _name(policy)
    out: list[Finding] = []

    def add(message: str) -> None:
        out.append(Finding(name, "neverApplies", "warning", message))

    users = c.users
    if users is not None and c.client_applications is None:
        if users.is_empty or users.include_users == ("None",):
            add("includes no users (None or empty)")
        elif "All" in users.include_users and "All" in users.exclude_users:
            add("includes and excludes All users")
    apps = c.applications
    if apps is not None:
        empty = not (
            apps.include_applications
            or apps.include_user_actions
            or apps.include_authentication_context_class_references
            or apps.application_filter
        )
        if empty or apps.include_applications == ("None",):
            add("targets no resources (None or empty)")
        if set(map(fold, apps.include_applications)) and set(map(fold, apps.include_applications)) <= set(
            map(fold, apps.exclude_applications)
        ):
            add("every included application is also excluded")
    if c.platforms is not None:
        inc = set(map(fold, c.platforms.include))
        exc = set(map(fold, c.platforms.exclude))
        if inc and "all" not in inc and inc <= exc:
            add("every included platform is also excluded")
    if c.locations is not None:
        inc = set(map(fold, c.locations.include))
        exc = set(map(fold, c.locations.exclude))
        if "all" in exc or (inc and "all" not in inc and inc <= exc):
            add("every included location is also excluded")
    devices = c.devices
    registers = apps is not None and "urn:user:registerdevice" in apps.include_user_actions
    if devices is not None and devices.device_filter is not None and registers:
        add("device filters are unavailable with the user action Register or join devices")
    if policy.state is PolicyState.DISABLED:
        out.append(Finding(name, "disabled", "info", "policy is disabled and is never evaluated"))
    if (policy.grant_controls is None or policy.grant_controls.is_empty) and not policy.session_controls:
        out.append(Finding(name, "neverApplies", "warning", "no grant or session controls: enforces nothing"))
    return out


def _lockout(policy: Policy) -> list[Finding]:
    grant = policy.grant_controls
    if grant is None or policy.state is PolicyState.DISABLED:
        return []
    controls = set(grant.built_in_controls)
    if "compliantDevice" not in controls:
        return []
    alternatives = controls - {"compliantDevice"}
    if grant.operator == "OR" and (alternatives or grant.authentication_strength or grant.terms_of_use):
        return []  # another control can satisfy it on an unenrolled device
    apps = policy.conditions.applications
    if apps is None:
        return []
    out: list[Finding] = []
    name = _name(policy)
    if "urn:user:registerdevice" in apps.include_user_actions:
        out.append(
            Finding(
                name,
                "lockout",
                "error",
                "requires a compliant device to register or join a device: an unregistered device can never comply",
            )
        )
    if "All" in apps.include_applications:
        excluded = set(map(fold, apps.exclude_applications))
        missing = [label for app_id, label in DEVICE_REGISTRATION_APPS.items() if app_id not in excluded]
        if missing and policy.conditions.devices is None:
            out.append(
                Finding(
                    name,
                    "lockout",
                    "warning",
                    "requires a compliant device for All resources without excluding "
                    + ", ".join(missing)
                    + ": devices that are not yet enrolled cannot register or enrol",
                )
            )
    return out


def _unknown_ids(policy: Policy, snapshot: DirectorySnapshot) -> list[Finding]:
    out: list[Finding] = []
    name = _name(policy)
    c = policy.conditions
    keywords = {"all", "none", "guestsorexternalusers", "office365", "microsoftadminportals", "alltrusted"}

    def check(kind: str, path: str, values: Sequence[str]) -> None:
        for index, value in enumerate(values):
            if fold(value) in keywords or value.startswith("<"):
                continue
            if not snapshot.knows(kind, value):
                out.append(
                    Finding(
                        name,
                        "unknownId",
                        "warning",
                        f"{kind} {value} is not in the snapshot",
                        f"{path}[{index}]",
                    )
                )

    if c.users is not None:
        u = c.users
        check("user", "$.conditions.users.includeUsers", u.include_users)
        check("user", "$.conditions.users.excludeUsers", u.exclude_users)
        check("group", "$.conditions.users.includeGroups", u.include_groups)
        check("group", "$.conditions.users.excludeGroups", u.exclude_groups)
        check("role", "$.conditions.users.includeRoles", u.include_roles)
        check("role", "$.conditions.users.excludeRoles", u.exclude_roles)
    if c.applications is not None:
        check(
            "application",
            "$.conditions.applications.includeApplications",
            c.applications.include_applications,
        )
        check(
            "application",
            "$.conditions.applications.excludeApplications",
            c.applications.exclude_applications,
        )
    if c.locations is not None:
        check("location", "$.conditions.locations.includeLocations", c.locations.include)
        check("location", "$.conditions.locations.excludeLocations", c.locations.exclude)
    return out


def _conflicts(policies: Sequence[Policy]) -> list[Finding]:
    """Same assignments, one blocks and another grants: the grant can never take effect."""
    out: list[Finding] = []
    active = [p for p in policies if p.state is not PolicyState.DISABLED and p.grant_controls is not None]
    for index, first in enumerate(active):
        for second in active[index + 1 :]:
            if first.conditions != second.conditions:
                continue
            a = first.grant_controls
            b = second.grant_controls
            assert a is not None and b is not None
            blocks = ("block" in a.built_in_controls) != ("block" in b.built_in_controls)
            if blocks:
                out.append(
                    Finding(
                        _name(first),
                        "conflict",
                        "warning",
                        f"same conditions as {_name(second)!r} but one blocks and the other grants",
                    )
                )
            elif first.display_name != second.display_name and a == b:
                out.append(Finding(_name(first), "duplicate", "info", f"duplicates {_name(second)!r}"))
    return out
