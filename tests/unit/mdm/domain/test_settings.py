from __future__ import annotations

from typing import Any

import pytest

from posturebridge.mdm.domain import ComplianceSettings, ValidationError


def test_defaults_follow_intune() -> None:
    settings = ComplianceSettings.from_dict({})
    assert settings == ComplianceSettings(secure_by_default=False, validity_period_days=30)
    assert settings.validity_period.days == 30


@pytest.mark.parametrize("days", [1, 120])
def test_the_validity_period_accepts_1_to_120_days(days: int) -> None:
    document = {"deviceComplianceCheckinThresholdDays": days, "secureByDefault": True}
    settings = ComplianceSettings.from_dict(document)
    assert settings.validity_period_days == days
    assert settings.to_dict() == document


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"deviceComplianceCheckinThresholdDays": 0}, "deviceComplianceCheckinThresholdDays"),
        ({"deviceComplianceCheckinThresholdDays": 121}, "deviceComplianceCheckinThresholdDays"),
        ({"secureByDefault": "yes"}, "secureByDefault"),
        ({"validityDays": 30}, "validityDays"),
    ],
)
def test_invalid_settings_name_the_field(document: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ComplianceSettings.from_dict(document)
    assert caught.value.errors[0].path == path


def test_settings_built_directly_are_checked_too() -> None:
    with pytest.raises(ValueError, match="between 1 and 120"):
        ComplianceSettings(validity_period_days=365)
