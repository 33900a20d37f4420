"""The MDM's pure domain: devices, posture samples, compliance policies and their evaluation, smart
groups, and the immutable-ID mapping toward Entra.

It must never do I/O, read a clock, import a framework or know about storage: every function takes
``now`` (timezone-aware) and plain values, and returns values. The store, the REST API and the change
feed are built on it.

Samples (``sample.py``)
    ``PostureSample.from_dict(body, device.platform)`` parses a check-in body::

        {"sequence": 42, "nonce": "5f0c…", "sampledDateTime": "2024-05-01T10:00:00Z",
         "osVersion": "17.4.1", "osBuild": "21E236", "passcodePresent": true,
         "passcodeComplexity": "none|low|medium|high", "storageEncrypted": true,
         "fileVaultEnabled": null, "bitLockerEnabled": null, "compromised": false,
         "securityPatchDate": "2024-04-05", "firewallEnabled": null, "antivirusEnabled": null,
         "secureBootEnabled": null, "systemIntegrityProtectionEnabled": null,
         "installedApps": ["com.example.app"], "freeStorageMegabytes": 20480,
         "mdmProfilePresent": true}

    Only ``sequence``, ``nonce`` and ``sampledDateTime`` are required; null or absent means "not
    reported". ``accept_sample(sample, cursor, now) -> SampleAcceptance`` says whether it becomes the
    latest (``.accepted``, ``.cursor`` to store); a stale one is ignored, a replay raises
    ``SampleReplayedError``, one dated in the future raises ``SampleFromTheFutureError``.

Versions (``version.py``)
    ``parse_os_version(platform, text) -> OsVersion`` refuses impossible versions with
    ``InvalidOsVersionError``; ``OsVersion`` orders numerically.

Policies (``policy.py``, rule types in ``rules/``)
    ``CompliancePolicy.from_dict(doc)`` / ``.to_dict()``::

        {"id": "pol-ios", "displayName": "iOS baseline", "description": "", "platform": "iOS",
         "failWhen": "anyRuleFails" | "allRulesFail",
         "rules": [{"type": "osMinimumVersion", "version": "17.0"},
                   {"type": "passcodeComplexity", "minimumComplexity": "medium"},
                   {"type": "restrictedApps", "apps": ["com.example.bad"]}],
         "scheduledActions": [{"actionType": "notification", "gracePeriodHours": 0},
                              {"actionType": "block", "gracePeriodHours": 72},
                              {"actionType": "notification", "gracePeriodHours": 48}],
         "assignment": {"includeGroups": ["<group or smart group id>"], "excludeGroups": [],
                        "allDevices": false}}

    Rule types (``RULE_TYPES.names()``) and their parameters: ``osMinimumVersion``/``osMaximumVersion``
    {version}; ``passcodeRequired``; ``passcodeComplexity`` {minimumComplexity};
    ``storageRequireEncryption``; ``securityBlockJailbrokenDevices`` (iOS, iPadOS, Android);
    ``deviceLastSeen`` {maximumHours}; ``restrictedApps``/``requiredApps`` {apps};
    ``deviceModelAllowList`` {models}; ``securityPatchAge`` {maximumDays} (Android);
    ``activeFirewallRequired`` (Windows, macOS); ``antivirusRequired``, ``bitLockerEnabled``,
    ``secureBootEnabled`` (Windows); ``fileVaultEnabled``, ``systemIntegrityProtectionEnabled``
    (macOS); ``mdmProfilePresent`` (all but Linux); ``minimumFreeStorage`` {minimumMegabytes}.
    ``scheduledActions`` defaults to ``[{"actionType": "block", "gracePeriodHours": 0}]`` and must hold
    exactly one ``block``. Errors are ``ValidationError`` with ``.errors`` of ``FieldError(path,
    message)``, e.g. ``rules[1].type: bitLockerEnabled does not apply to iOS (only Windows)``.

Evaluation (``evaluation.py``)
    ``evaluate_compliance(device, latest_sample, policies_assigned, previous, settings, now)
    -> ComplianceEvaluation`` with ``state``, ``is_compliant``, ``changed``, per-policy and per-rule
    results (``default_policy``, ``policies``), ``failing_since``, ``due_actions`` (each returned
    once), ``next_action``, ``valid_until``, ``next_evaluation_at``, ``explanation``, ``to_dict()``
    and ``to_prior()`` (store it; pass it back as ``previous``; ``PriorEvaluation.to_dict/from_dict``).
    ``ComplianceSettings.from_dict({"secureByDefault": false,
    "deviceComplianceCheckinThresholdDays": 30})``.

Groups (``groups.py``)
    ``SmartGroup.from_dict({"id", "name", "platforms": [...], "ownerships": [...],
    "osVersions": [{"platform": "iOS", "minimum": "16.0", "maximum": null}], "models": [...],
    "userGroups": [...]})``; ``is_member(device, group)``; ``group.mismatches(device)`` explains a
    non-member; ``policies_for_device(device, policies, smart_groups)``.

Identity (``identity.py``)
    ``ImmutableIdMapping.from_dict({"attribute": "objectGUID|userPrincipalName|mail|custom",
    "customAttributeName": null, "dataType": "binary|string"})``;
    ``pick_immutable_id(mapping, user: MdmUser) -> str`` raises ``ImmutableIdMissingError``.

Devices (``device.py``)
    ``Device`` (``from_dict``/``to_dict`` with ``id, platform, ownership, enrollmentStatus,
    enrolledDateTime, lastSeenDateTime, model, osVersion, userId, userGroupIds``).
"""

from __future__ import annotations

from .device import Device
from .errors import (
    FieldError,
    ImmutableIdInvalidError,
    ImmutableIdMissingError,
    InvalidOsVersionError,
    MdmDomainError,
    SampleFromTheFutureError,
    SampleRejectedError,
    SampleReplayedError,
    ValidationError,
)
from .evaluation import (
    DEFAULT_POLICY_ID,
    ComplianceEvaluation,
    PlannedAction,
    PolicyResult,
    PriorEvaluation,
    PriorPolicyState,
    RuleResult,
    evaluate_compliance,
)
from .groups import OsVersionRange, SmartGroup, device_group_ids, is_member, policies_for_device
from .identity import ImmutableIdMapping, MdmUser, pick_immutable_id
from .policy import Assignment, CompliancePolicy, ScheduledAction
from .rules import RULE_TYPES, ComplianceRule, RuleCheck, RuleContext, RuleRegistry
from .sample import PostureSample, SampleAcceptance, SampleCursor, SampleDisposition, accept_sample
from .settings import ComplianceSettings
from .version import OsVersion, parse_os_version
from .vocabulary import (
    ActionType,
    AttributeDataType,
    ComplianceState,
    EnrollmentStatus,
    FailWhen,
    ImmutableIdAttribute,
    Ownership,
    PasscodeComplexity,
    Platform,
    RuleOutcome,
)

__all__ = [
    "DEFAULT_POLICY_ID",
    "RULE_TYPES",
    "ActionType",
    "Assignment",
    "AttributeDataType",
    "ComplianceEvaluation",
    "CompliancePolicy",
    "ComplianceRule",
    "ComplianceSettings",
    "ComplianceState",
    "Device",
    "EnrollmentStatus",
    "FailWhen",
    "FieldError",
    "ImmutableIdAttribute",
    "ImmutableIdInvalidError",
    "ImmutableIdMapping",
    "ImmutableIdMissingError",
    "InvalidOsVersionError",
    "MdmDomainError",
    "MdmUser",
    "OsVersion",
    "OsVersionRange",
    "Ownership",
    "PasscodeComplexity",
    "PlannedAction",
    "Platform",
    "PolicyResult",
    "PostureSample",
    "PriorEvaluation",
    "PriorPolicyState",
    "RuleCheck",
    "RuleContext",
    "RuleOutcome",
    "RuleRegistry",
    "RuleResult",
    "SampleAcceptance",
    "SampleCursor",
    "SampleDisposition",
    "SampleFromTheFutureError",
    "SampleRejectedError",
    "SampleReplayedError",
    "ScheduledAction",
    "SmartGroup",
    "ValidationError",
    "accept_sample",
    "device_group_ids",
    "evaluate_compliance",
    "is_member",
    "parse_os_version",
    "pick_immutable_id",
    "policies_for_device",
]
