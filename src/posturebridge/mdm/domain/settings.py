"""Tenant-wide compliance settings, named as Graph's ``deviceManagementSettings`` names them.

- ``secureByDefault`` ("Mark devices with no compliance policy assigned as": false = Compliant, the
  default): when true, a device without an applicable policy is noncompliant instead of notApplicable.
- ``deviceComplianceCheckinThresholdDays`` ("Compliance status validity period", default 30, 1–120):
  a device not seen for that long is noncompliant whatever its last sample said.
https://learn.microsoft.com/mem/intune/protect/device-compliance-get-started#compliance-policy-settings
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .types import JsonObject
from .wire import Fields

MIN_VALIDITY_DAYS = 1
MAX_VALIDITY_DAYS = 120
DEFAULT_VALIDITY_DAYS = 30


@dataclass(frozen=True)
class ComplianceSettings:
    secure_by_default: bool = False
    validity_period_days: int = DEFAULT_VALIDITY_DAYS

    def __post_init__(self) -> None:
        if not MIN_VALIDITY_DAYS <= self.validity_period_days <= MAX_VALIDITY_DAYS:
            raise ValueError(f"validity_period_days must be between {MIN_VALIDITY_DAYS} and {MAX_VALIDITY_DAYS}")

    @property
    def validity_period(self) -> dt.timedelta:
        return dt.timedelta(days=self.validity_period_days)

    @classmethod
    def from_dict(cls, data: Any) -> ComplianceSettings:
        fields = Fields(data)
        settings = cls(
            secure_by_default=fields.boolean("secureByDefault", default=False),
            validity_period_days=fields.integer(
                "deviceComplianceCheckinThresholdDays",
                minimum=MIN_VALIDITY_DAYS,
                maximum=MAX_VALIDITY_DAYS,
                default=DEFAULT_VALIDITY_DAYS,
            ),
        )
        fields.reject_unknown()
        return settings

    def to_dict(self) -> JsonObject:
        return {
            "secureByDefault": self.secure_by_default,
            "deviceComplianceCheckinThresholdDays": self.validity_period_days,
        }
