"""What the user-facing compliance page says about one device, built from its stored evaluation.

The device, its compliance state, every failed rule with since when, what happens next and when (the
grace period's end, the policy's next action, the end of the compliance validity period) and how to fix
each failure. Read only; the page renders it (`posturebridge.mdm.api.compliance_page`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from posturebridge.mdm.service import devices

# How the user fixes a failed rule, by rule type. Types without an entry get the rule's requirement instead.
_FIXES: Mapping[str, str] = MappingProxyType(
    {
        "passcodeRequired": (
            "Set a screen lock passcode: Settings > Face ID & Passcode (iOS), Settings > Security > Screen lock "
            "(Android), System Settings > Lock Screen (macOS), Settings > Accounts > Sign-in options (Windows)."
        ),
        "passcodeComplexity": "Choose a longer or more complex passcode in the device's settings.",
        "osMinimumVersion": "Install the latest OS update: Settings > General > Software Update "
        "(iOS), Settings > System > Software update (Android), System Settings > General > Software Update "
        "(macOS), Settings > Windows Update (Windows).",
        "osMaximumVersion": "This OS version is not yet approved; ask IT support which version to use.",
        "securityBlockJailbrokenDevices": "The device is jailbroken or rooted: restore its original "
        "operating system, or use another device.",
        "storageRequireEncryption": "Turn on device encryption in the device's security settings.",
        "fileVaultEnabled": "Turn on FileVault: System Settings > Privacy & Security > FileVault.",
        "bitLockerEnabled": "Turn on BitLocker: Settings > Privacy & security > Device encryption.",
        "activeFirewallRequired": "Turn on the firewall in the device's security settings.",
        "antivirusRequired": "Turn on antivirus protection and let it update.",
        "secureBootEnabled": "Turn on Secure Boot in the device's firmware settings.",
        "systemIntegrityProtectionEnabled": "Turn System Integrity Protection back on (csrutil).",
        "mdmProfilePresent": "Reinstall the management profile from Intelligent Hub.",
        "restrictedApps": "Remove the app that is not allowed.",
        "requiredApps": "Install the required app from the Hub catalogue.",
        "deviceLastSeen": "Open Intelligent Hub so the device checks in.",
        "isActive": "Open Intelligent Hub so the device checks in.",
        "securityPatchAge": "Install the latest security update.",
        "minimumFreeStorage": "Free up storage on the device.",
    }
)
_ACTIONS = {
    "notification": "you are notified",
    "email": "you get an email",
    "block": "access to company apps is blocked",
    "markNoncompliant": "the device is marked noncompliant",
    "retire": "company data is removed from the device",
}


@dataclass(frozen=True)
class FailedRule:
    policy: str
    requirement: str
    explanation: str
    outcome: str
    since: dt.datetime | None
    fix: str


@dataclass(frozen=True)
class NextStep:
    what: str
    when: dt.datetime | None


@dataclass(frozen=True)
class CompliancePage:
    device_id: str
    model: str
    platform: str
    os_version: str | None
    user_name: str | None
    last_seen: dt.datetime | None
    compliance_state: str
    is_compliant: bool
    evaluated: dt.datetime | None
    failing_since: dt.datetime | None
    failed_rules: list[FailedRule]
    next_steps: list[NextStep]


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def build(session: Session, organisation_id: str, device_id: str) -> CompliancePage:
    """The page of one device (`NotFound` if the organisation has no such device)."""
    listing = devices.get_device(session, organisation_id, device_id)
    row = listing.device
    evaluation: Mapping[str, Any] = row.evaluation or {}
    failed: list[FailedRule] = []
    for policy in evaluation.get("policies", []):
        for rule in policy.get("rules", []):
            if rule.get("outcome") in ("failed", "error"):
                fix = _FIXES.get(str(rule.get("ruleType")))
                failed.append(
                    FailedRule(
                        policy=str(policy.get("displayName", "")),
                        requirement=str(rule.get("requirement", "")),
                        explanation=str(rule.get("explanation", "")),
                        outcome=str(rule.get("outcome")),
                        since=_time(rule.get("failingSince")),
                        fix=fix or f"Make sure that {rule.get('requirement', 'the rule holds')}.",
                    )
                )
    return CompliancePage(
        device_id=row.id,
        model=row.model,
        platform=row.platform,
        os_version=row.os_version,
        user_name=listing.user_name,
        last_seen=row.last_seen_at,
        compliance_state=row.compliance_state,
        is_compliant=row.is_compliant,
        evaluated=_time(evaluation.get("evaluatedDateTime")),
        failing_since=_time(evaluation.get("failingSince")),
        failed_rules=failed,
        next_steps=_next_steps(row.compliance_state, evaluation),
    )


def _next_steps(state: str, evaluation: Mapping[str, Any]) -> list[NextStep]:
    steps: list[NextStep] = []
    if state == "inGracePeriod":
        ends = min(
            (t for p in evaluation.get("policies", []) if (t := _time(p.get("gracePeriodEndsDateTime"))) is not None),
            default=None,
        )
        steps.append(NextStep("Company apps still open until the grace period ends; fix the device before then.", ends))
    elif state == "noncompliant":
        steps.append(
            NextStep("Company apps that require a compliant device refuse you until the device is fixed.", None)
        )
    nxt = evaluation.get("nextAction")
    if isinstance(nxt, Mapping):
        action = _ACTIONS.get(str(nxt.get("actionType")), str(nxt.get("actionType")))
        steps.append(
            NextStep(
                f"If nothing changes, {action} ({nxt.get('policyName', 'policy')}).", _time(nxt.get("dueDateTime"))
            )
        )
    if state == "compliant":
        steps.append(
            NextStep(
                "The device stays compliant while it checks in; it is re-evaluated by then.",
                _time(evaluation.get("validUntil")),
            )
        )
    if state != "compliant":
        steps.append(
            NextStep("Once fixed, the device is checked again at its next check-in (open Intelligent Hub).", None)
        )
    return steps
