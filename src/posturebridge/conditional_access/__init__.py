"""Conditional Access engine: Graph policy JSON in, an explained decision out.

Pure and standard-library only: no I/O during evaluation, no framework, the clock passed in.
The directory calls it at every token request and serves ``POST /identity/conditionalAccess/evaluate``
from it; ``posturebridge ca whatif`` and ``ca lint`` use it offline on exported policies.

Public API::

    compiled = compile_policies(policies_json, named_locations_json)   # once per policy change
    decision = compiled.evaluate(SignInContext(...), now=datetime.now(UTC))
    decision.access                   # Access.GRANTED | INTERRUPTED | BLOCKED
    decision.error_code               # 0, 53003, 53000, 50097, 50076, ...
    decision.conditional_access_status  # "success" | "failure" | "notApplied"
    decision.policies                 # every policy: PolicyResult(result=..., conditions=..., controls=...)
    decision.to_sign_in_log()         # signIn.conditionalAccessStatus/status/appliedConditionalAccessPolicies
    decision.to_what_if()             # whatIfAnalysisResult items: policyApplies, analysisReasons

    parse_policy(raw) -> ParsedPolicy(policy, unknown)   # issues carry JSON paths; nothing is fatal
    parse_rule(text, DEVICE_FILTER | APPLICATION_FILTER) -> AST  # raises RuleSyntaxError(position)
    lint_policies(parsed, snapshot) -> list[Finding]

A ``SignInContext`` with ``device=None`` is an unregistered device: a device filter's positive
operators never match it and negative ones always do, and it cannot satisfy device controls.
``SignInContext.user`` carries transitive group ids and active role template ids; the directory
resolves them (``DirectorySnapshot.user`` does it offline).
"""

from posturebridge.conditional_access.evaluate import (
    CompiledPolicySet,
    compile_policies,
    decide,
    evaluate_plain,
)
from posturebridge.conditional_access.lint import Finding, lint_policies
from posturebridge.conditional_access.model import (
    DeviceInfo,
    Issue,
    IssueKind,
    NamedLocation,
    Policy,
    PolicyState,
    ResourceApplication,
    SatisfiedControls,
    ServicePrincipalIdentity,
    SignInContext,
    UserIdentity,
)
from posturebridge.conditional_access.parse import (
    DocumentError,
    ParsedPolicy,
    decode_json_bytes,
    parse_device,
    parse_named_location,
    parse_policy,
    policy_objects,
)
from posturebridge.conditional_access.result import (
    Access,
    ConditionResult,
    ControlResult,
    Decision,
    PolicyOutcome,
    PolicyResult,
)
from posturebridge.conditional_access.rules import (
    APPLICATION_FILTER,
    DEVICE_FILTER,
    MAX_RULE_LENGTH,
    RuleSyntaxError,
    parse_rule,
)
from posturebridge.conditional_access.snapshot import DirectorySnapshot

__all__ = [
    "APPLICATION_FILTER",
    "DEVICE_FILTER",
    "MAX_RULE_LENGTH",
    "Access",
    "CompiledPolicySet",
    "ConditionResult",
    "ControlResult",
    "Decision",
    "DeviceInfo",
    "DirectorySnapshot",
    "DocumentError",
    "Finding",
    "Issue",
    "IssueKind",
    "NamedLocation",
    "ParsedPolicy",
    "Policy",
    "PolicyOutcome",
    "PolicyResult",
    "PolicyState",
    "ResourceApplication",
    "RuleSyntaxError",
    "SatisfiedControls",
    "ServicePrincipalIdentity",
    "SignInContext",
    "UserIdentity",
    "compile_policies",
    "decide",
    "decode_json_bytes",
    "evaluate_plain",
    "lint_policies",
    "parse_device",
    "parse_named_location",
    "parse_policy",
    "parse_rule",
    "policy_objects",
]
