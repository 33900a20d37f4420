"""Action and connector templates: device fields and sensor values in, a clear error for a missing
variable, nothing reachable beyond the values given (the sandbox), syntax checked on save."""

from __future__ import annotations

import json

import pytest

from posturebridge.mdm.domain import ValidationError
from posturebridge.mdm.service.templating import TemplateRenderError, check, render

VARIABLES = {
    "device": {"id": "d-1", "entraDeviceId": "0f1e2d3c-0000-4000-8000-000000000001", "complianceState": "compliant"},
    "sensors": {"bitlocker_status": "on", "defender-rtp": "on"},
    "trigger": {"sensorsCompliant": True},
}


def test_device_fields_and_sensor_values_are_substituted() -> None:
    url = render("https://graph/v1.0/devices(deviceId='{{device.entraDeviceId}}')", VARIABLES)
    assert url == "https://graph/v1.0/devices(deviceId='0f1e2d3c-0000-4000-8000-000000000001')"
    body = render(
        '{"isCompliant": {{ trigger.sensorsCompliant | tojson }}, "bl": {{ sensors.bitlocker_status | tojson }}}',
        VARIABLES,
    )
    assert json.loads(body) == {"isCompliant": True, "bl": "on"}
    assert render("{{ sensors['defender-rtp'] }}", VARIABLES) == "on"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ device.serial }}", "'dict object' has no attribute 'serial'"),
        ("{{ sensors.tpm_version }}", "has no attribute 'tpm_version'"),
        ("{{ user.name }}", "'user' is undefined"),
    ],
)
def test_a_missing_variable_is_an_error_that_names_it(template: str, message: str) -> None:
    with pytest.raises(TemplateRenderError, match=message) as raised:
        render(template, VARIABLES, what="bodyTemplate")
    assert str(raised.value).startswith("bodyTemplate: ")
    assert "available: device, sensors, trigger" in str(raised.value)


def test_a_variable_without_a_value_is_an_error_not_the_text_none() -> None:
    unregistered = {**VARIABLES, "device": {**VARIABLES["device"], "entraDeviceId": None}}
    with pytest.raises(TemplateRenderError, match=r"urlTemplate: an expression has no value \(None\)"):
        render("https://graph/v1.0/devices(deviceId='{{ device.entraDeviceId }}')", unregistered, what="urlTemplate")
    assert render("{{ device.entraDeviceId | tojson }}", unregistered) == "null"
    assert render("{{ device.entraDeviceId | default('none yet', true) }}", unregistered) == "none yet"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ device.__class__.__init__.__globals__ }}",
        "{{ device.clear() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_templates_cannot_reach_python(template: str) -> None:
    with pytest.raises(TemplateRenderError):
        render(template, VARIABLES)
    assert VARIABLES["device"]["id"] == "d-1"


def test_syntax_errors_are_reported_per_template_on_save() -> None:
    with pytest.raises(ValidationError) as raised:
        check({"urlTemplate": "https://x/{{ device.id ", "bodyTemplate": "{% if %}", "headers.X": "fine {{ a }}"})
    assert [e.path for e in raised.value.errors] == ["urlTemplate", "bodyTemplate"]
    assert "template error on line 1" in str(raised.value)
