"""The MDM's enumerations, with the wire spellings of Intune / Microsoft Graph (or Workspace ONE where
Graph has no word) as their values. Nothing here decides anything beyond ordering and classification."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """A device platform. Values follow the Conditional Access ``devicePlatform`` spellings; ``iPadOS`` is
    kept apart as Intune's ``operatingSystem`` reports it, and reaches CA as ``iOS``."""

    IOS = "iOS"
    IPADOS = "iPadOS"
    ANDROID = "android"
    MACOS = "macOS"
    WINDOWS = "windows"
    LINUX = "linux"

    @property
    def compliance_family(self) -> Platform:
        """The platform whose policies also cover this one: Intune's "iOS/iPadOS" policies cover iPads."""
        return Platform.IOS if self is Platform.IPADOS else self

    @property
    def display_name(self) -> str:
        return _PLATFORM_NAMES.get(self.value, self.value)

    @property
    def ca_device_platform(self) -> str:
        """The value Conditional Access sees in ``conditions.platforms``."""
        return self.compliance_family.value


_PLATFORM_NAMES = {"android": "Android", "windows": "Windows", "linux": "Linux"}


class Ownership(StrEnum):
    """Who owns the device, as Workspace ONE records it (C / E / S in its REST API)."""

    CORPORATE = "corporate"
    EMPLOYEE_OWNED = "employeeOwned"
    SHARED = "shared"

    @property
    def ws1_code(self) -> str:
        """The one-letter code of the Workspace ONE REST API (``Ownership`` field)."""
        return {"corporate": "C", "employeeOwned": "E", "shared": "S"}[self.value]


class EnrollmentStatus(StrEnum):
    ENROLLED = "enrolled"
    UNENROLLED = "unenrolled"
    WIPED = "wiped"


class ComplianceState(StrEnum):
    """Intune's ``complianceState`` values plus the two report states ``notEvaluated`` (enrolled, no
    sample yet) and ``notApplicable`` (no policy assigned).

    https://learn.microsoft.com/graph/api/resources/intune-devices-compliancestate
    https://learn.microsoft.com/mem/intune/protect/compliance-policy-monitor
    """

    NOT_APPLICABLE = "notApplicable"
    COMPLIANT = "compliant"
    IN_GRACE_PERIOD = "inGracePeriod"
    NOT_EVALUATED = "notEvaluated"
    NONCOMPLIANT = "noncompliant"
    ERROR = "error"

    @property
    def counts_as_compliant(self) -> bool:
        """What Entra's ``isCompliant`` gets: fail closed for everything but these three."""
        return self in _COMPLIANT_STATES

    @property
    def severity(self) -> int:
        """Combining several policies keeps the most severe state, as Intune does (error highest).

        Intune ranks unknown lowest; here ``notEvaluated`` ranks above the compliant states because a
        device nobody has looked at must not pass (fail closed).
        """
        return _SEVERITY.index(self)


_SEVERITY = (
    ComplianceState.NOT_APPLICABLE,
    ComplianceState.COMPLIANT,
    ComplianceState.IN_GRACE_PERIOD,
    ComplianceState.NOT_EVALUATED,
    ComplianceState.NONCOMPLIANT,
    ComplianceState.ERROR,
)
_COMPLIANT_STATES = frozenset(
    {ComplianceState.COMPLIANT, ComplianceState.IN_GRACE_PERIOD, ComplianceState.NOT_APPLICABLE}
)


class PasscodeComplexity(StrEnum):
    """Android's ``requiredPasswordComplexity`` scale, used for every platform's reported passcode."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return list(PasscodeComplexity).index(self)


class RuleOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    """The sample does not carry what the rule needs: neither pass nor fail (the policy reports error)."""


class ActionType(StrEnum):
    """Graph ``deviceComplianceActionType`` values for actions on noncompliance. ``block`` is
    "Mark device noncompliant"; every policy has exactly one."""

    NOTIFICATION = "notification"
    PUSH_NOTIFICATION = "pushNotification"
    BLOCK = "block"
    REMOTE_LOCK = "remoteLock"
    RETIRE = "retire"
    WIPE = "wipe"


class FailWhen(StrEnum):
    """Workspace ONE's "match Any / All of the rules": when the policy as a whole fails."""

    ANY_RULE_FAILS = "anyRuleFails"
    ALL_RULES_FAIL = "allRulesFail"


class ImmutableIdAttribute(StrEnum):
    """The directory attribute that becomes the Entra immutable ID (``onPremisesImmutableId``)."""

    OBJECT_GUID = "objectGUID"
    USER_PRINCIPAL_NAME = "userPrincipalName"
    MAIL = "mail"
    CUSTOM = "custom"


class AttributeDataType(StrEnum):
    """Workspace ONE's "Mapping Attribute Data Type": binary values are sent base64-encoded."""

    BINARY = "binary"
    STRING = "string"
