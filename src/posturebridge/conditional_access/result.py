"""What the engine answers: the decision and every policy's outcome, with reasons.

Shapes follow Graph: ``PolicyResult.result`` uses the ``appliedConditionalAccessPolicy.result``
values, ``Decision.to_sign_in_log`` gives the signIn fields (v1.0 plus beta's conditionsSatisfied /
conditionsNotSatisfied) and ``Decision.to_what_if`` the ``whatIfAnalysisResult`` fields
(policyApplies, analysisReasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Access(StrEnum):
    GRANTED = "granted"  # every enforced policy is satisfied (or none applies)
    INTERRUPTED = "interrupted"  # the user can still satisfy what is missing (MFA, terms of use, ...)
    BLOCKED = "blocked"  # a block control, or a control the sign-in cannot satisfy


class PolicyOutcome(StrEnum):
    """Graph ``appliedConditionalAccessPolicyResult`` values."""

    SUCCESS = "success"
    FAILURE = "failure"
    NOT_APPLIED = "notApplied"
    NOT_ENABLED = "notEnabled"
    REPORT_ONLY_SUCCESS = "reportOnlySuccess"
    REPORT_ONLY_FAILURE = "reportOnlyFailure"
    REPORT_ONLY_NOT_APPLIED = "reportOnlyNotApplied"
    REPORT_ONLY_INTERRUPTED = "reportOnlyInterrupted"


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition of one policy, as evaluated for this sign-in.

    ``condition`` is Graph's conditionalAccessConditions flag (users, application, clientType,
    devicePlatform, location, deviceState, signInRisk, ...); ``rule`` is the ruleSatisfied value of
    the include or exclude rule that decided it (allUsers, groupId, appId, office365, deviceFilter,
    ...); ``analysis_reason`` is the What-If ``analysisReasons`` value used when it is not satisfied.
    """

    condition: str
    satisfied: bool
    rule: str
    detail: str
    analysis_reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "satisfied": self.satisfied,
            "rule": self.rule,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One grant control and whether this sign-in satisfies it."""

    control: str  # builtInControls value, or "authenticationStrength", "termsOfUse", "customFactor"
    satisfied: bool
    interactive: bool  # unsatisfied but the user could satisfy it now (prompt)
    error_code: int
    detail: str


@dataclass(frozen=True, slots=True)
class PolicyResult:
    id: str
    display_name: str
    state: str
    result: PolicyOutcome
    conditions: tuple[ConditionResult, ...]
    controls: tuple[ControlResult, ...]
    enforced_grant_controls: tuple[str, ...]
    enforced_session_controls: tuple[str, ...]
    interactive: bool = False  # unsatisfied, but the user can satisfy it by answering a prompt

    @property
    def applies(self) -> bool:
        return self.result not in (
            PolicyOutcome.NOT_APPLIED,
            PolicyOutcome.NOT_ENABLED,
            PolicyOutcome.REPORT_ONLY_NOT_APPLIED,
        )

    @property
    def analysis_reason(self) -> str:
        """What-If ``analysisReasons``: ``notSet`` when the policy applies."""
        if self.result is PolicyOutcome.NOT_ENABLED:
            return "policyNotEnabled"
        for condition in self.conditions:
            if not condition.satisfied:
                return condition.analysis_reason
        return "notSet"

    def reasons(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.conditions] + [
            {
                "control": c.control,
                "satisfied": c.satisfied,
                "interactive": c.interactive,
                "detail": c.detail,
            }
            for c in self.controls
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` entry: Graph's fields plus the reasons."""
        return {
            "id": self.id,
            "displayName": self.display_name,
            "result": self.result.value,
            "enforcedGrantControls": list(self.enforced_grant_controls),
            "enforcedSessionControls": list(self.enforced_session_controls),
            "reasons": self.reasons(),
        }

    def to_sign_in_log(self) -> dict[str, Any]:
        """An ``appliedConditionalAccessPolicy`` (v1.0 fields plus beta's condition flags)."""
        satisfied = [c.condition for c in self.conditions if c.satisfied]
        not_satisfied = [c.condition for c in self.conditions if not c.satisfied]
        return {
            "id": self.id,
            "displayName": self.display_name,
            "enforcedGrantControls": list(self.enforced_grant_controls),
            "enforcedSessionControls": list(self.enforced_session_controls),
            "result": self.result.value,
            "conditionsSatisfied": ",".join(dict.fromkeys(satisfied)) or "none",
            "conditionsNotSatisfied": ",".join(dict.fromkeys(not_satisfied)) or "none",
        }


@dataclass(frozen=True, slots=True)
class Decision:
    access: Access
    conditional_access_status: str  # signIn.conditionalAccessStatus: success | failure | notApplied
    error_code: int  # signIn.status.errorCode: 0 on success
    failure_reason: str
    policies: tuple[PolicyResult, ...]
    evaluated_at: datetime

    @property
    def allowed(self) -> bool:
        return self.access is Access.GRANTED

    def policy(self, policy_id_or_name: str) -> PolicyResult:
        for result in self.policies:
            if policy_id_or_name in (result.id, result.display_name):
                return result
        raise KeyError(policy_id_or_name)

    def to_json(self) -> dict[str, Any]:
        """The shape ``ca whatif --json`` prints and the directory can serve."""
        return {
            "conditionalAccessStatus": self.conditional_access_status,
            "errorCode": self.error_code,
            "failureReason": self.failure_reason,
            "access": self.access.value,
            "appliedConditionalAccessPolicies": [p.to_json() for p in self.policies],
        }

    def to_sign_in_log(self) -> dict[str, Any]:
        """The CA fields of a Graph ``signIn``."""
        return {
            "createdDateTime": self.evaluated_at.isoformat().replace("+00:00", "Z"),
            "conditionalAccessStatus": self.conditional_access_status,
            "status": {
                "errorCode": self.error_code,
                "failureReason": self.failure_reason or None,
                "additionalDetails": None,
            },
            "appliedConditionalAccessPolicies": [p.to_sign_in_log() for p in self.policies],
        }

    def to_what_if(self, *, applied_policies_only: bool = False) -> list[dict[str, Any]]:
        """``whatIfAnalysisResult`` items (without the policy body, which the caller holds)."""
        return [
            {
                "id": p.id,
                "displayName": p.display_name,
                "state": p.state,
                "policyApplies": p.applies,
                "analysisReasons": p.analysis_reason,
            }
            for p in self.policies
            if p.applies or not applied_policies_only
        ]
