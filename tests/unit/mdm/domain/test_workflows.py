"""Workflow rules in the domain: the trigger and action registries parse and explain, scheduled triggers
hold on time, event triggers fire on their own events only, retries back off and end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from posturebridge.mdm.domain import ComplianceState, EnrollmentStatus, Platform, ValidationError
from posturebridge.mdm.domain.wire import Fields
from posturebridge.mdm.domain.workflows import (
    ACTION_TYPES,
    TRIGGER_TYPES,
    ComplianceChanged,
    ComplianceStateChangedTrigger,
    EnrolledNotRegisteredInEntra,
    EventTrigger,
    RetryPolicy,
    SendHubNotification,
    SensorResultChangedTrigger,
    SensorsChanged,
    TriggerKind,
    TypeRegistry,
    WorkflowDefinition,
    WorkflowDevice,
    WorkflowEvent,
    WorkflowTrigger,
    failed_rules,
)

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def device(**changes: Any) -> WorkflowDevice:
    values: dict[str, Any] = {
        "id": "dev-1",
        "platform": Platform.WINDOWS,
        "enrollment_status": EnrollmentStatus.ENROLLED,
        "enrolled_at": NOW,
        "entra_device_id": None,
    }
    return WorkflowDevice(**{**values, **changes})


def test_the_registries_know_the_built_in_types() -> None:
    assert TRIGGER_TYPES.names() == ("complianceStateChanged", "enrolledNotRegisteredInEntra", "sensorResultChanged")
    assert ACTION_TYPES.names() == ("runCustomConnector", "sendHubNotification")
    kinds = {t.type_name: t.kind for t in TRIGGER_TYPES}
    assert kinds["enrolledNotRegisteredInEntra"] is TriggerKind.SCHEDULED
    assert kinds["complianceStateChanged"] is kinds["sensorResultChanged"] is TriggerKind.EVENT


def test_an_unknown_trigger_type_names_the_known_ones() -> None:
    with pytest.raises(ValidationError) as raised:
        TRIGGER_TYPES.parse({"type": "deviceStolen"}, "trigger")
    assert str(raised.value) == (
        "trigger.type: unknown trigger type 'deviceStolen'; known: complianceStateChanged, "
        "enrolledNotRegisteredInEntra, sensorResultChanged"
    )


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ({"type": "enrolledNotRegisteredInEntra"}, "trigger.hours: is required"),
        ({"type": "enrolledNotRegisteredInEntra", "hours": -1}, "trigger.hours"),
        ({"type": "enrolledNotRegisteredInEntra", "hours": 4, "minutes": 3}, "trigger.minutes"),
        ({"type": "complianceStateChanged", "toStates": ["broken"]}, "trigger.toStates[0]: 'broken' is not one of"),
        ({"type": "sensorResultChanged", "compliantWhen": {"x": [1]}}, "trigger.compliantWhen.x"),
    ],
)
def test_trigger_parameters_are_validated_with_their_path(trigger: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        TRIGGER_TYPES.parse(trigger, "trigger")


def test_a_definition_reports_every_bad_action_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        WorkflowDefinition.parse(
            {"type": "complianceStateChanged"},
            [
                {"type": "sendHubNotification", "title": "t"},
                {"type": "sendHubNotification", "title": "t", "body": "b", "priority": "loud"},
            ],
        )
    paths = [e.path for e in raised.value.errors]
    assert paths == ["actions[0].body", "actions[1].priority"]


def test_a_rule_without_actions_is_refused() -> None:
    with pytest.raises(ValidationError, match="actions: a rule needs at least one action"):
        WorkflowDefinition.parse({"type": "complianceStateChanged"}, [])


def test_definitions_round_trip_through_their_stored_form() -> None:
    definition = WorkflowDefinition.parse(
        {
            "type": "sensorResultChanged",
            "sensors": ["bitlocker_status"],
            "compliantWhen": {"bitlocker_status": "on", "hybrid_joined": True},
        },
        [{"type": "runCustomConnector", "connectorId": "c-1"}],
    )
    stored = definition.trigger.to_dict(), [a.to_dict() for a in definition.actions]
    assert stored[0]["compliantWhen"] == {"bitlocker_status": "on", "hybrid_joined": "true"}
    assert WorkflowDefinition.from_stored(*stored) == definition


def test_not_registered_holds_after_the_hours_and_only_without_an_entra_device_id() -> None:
    trigger = EnrolledNotRegisteredInEntra(hours=24)
    assert not trigger.holds(device(), NOW + 23 * HOUR)
    assert trigger.holds(device(), NOW + 24 * HOUR)
    assert not trigger.holds(device(entra_device_id="e-1"), NOW + 48 * HOUR)
    assert not trigger.holds(device(enrollment_status=EnrollmentStatus.UNENROLLED), NOW + 48 * HOUR)
    assert not EnrolledNotRegisteredInEntra(0, frozenset({Platform.IOS})).holds(device(), NOW)


def test_compliance_trigger_fires_on_its_target_states_only() -> None:
    into_noncompliant = ComplianceStateChangedTrigger(frozenset({ComplianceState.NONCOMPLIANT}))
    change = ComplianceChanged("dev-1", "compliant", "noncompliant", False, ("passcode required",))
    assert into_noncompliant.fire(change) == {
        "previousState": "compliant",
        "state": "noncompliant",
        "isCompliant": False,
        "explanation": ["passcode required"],
    }
    assert into_noncompliant.fire(ComplianceChanged("dev-1", "noncompliant", "compliant", True)) is None
    assert into_noncompliant.fire(SensorsChanged("dev-1", {"a": (None, "b")}, {"a": "b"})) is None


def test_sensor_trigger_judges_the_sensors_and_ignores_unwatched_changes() -> None:
    trigger = SensorResultChangedTrigger(
        frozenset({"bitlocker_status", "defender_rtp"}), {"bitlocker_status": "on", "defender_rtp": "on"}
    )
    values = {"bitlocker_status": "off", "defender_rtp": "on", "uptime": "5"}
    context = trigger.fire(SensorsChanged("dev-1", {"bitlocker_status": ("on", "off")}, values))
    assert context is not None
    assert context["sensorsCompliant"] is False and context["failedSensors"] == ["bitlocker_status"]
    assert context["changed"] == {"bitlocker_status": {"previous": "on", "value": "off"}}
    assert trigger.fire(SensorsChanged("dev-1", {"uptime": ("4", "5")}, values)) is None


def test_a_registry_takes_new_trigger_types_without_touching_the_others() -> None:
    class Wiped(EventTrigger):
        type_name = "deviceWiped"

        @classmethod
        def from_params(cls, fields: Fields) -> Wiped:
            return cls()

        def params(self) -> dict[str, Any]:
            return {}

        def fire(self, event: WorkflowEvent) -> dict[str, Any] | None:
            return {}

    registry: TypeRegistry[WorkflowTrigger] = TypeRegistry("trigger type")
    registry.register(Wiped)
    assert isinstance(registry.parse({"type": "deviceWiped"}), Wiped)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Wiped)


def test_notification_templates_are_listed_for_checking() -> None:
    action = ACTION_TYPES.parse({"type": "sendHubNotification", "title": "t", "body": "b", "deepLink": "{{ x }}"})
    assert isinstance(action, SendHubNotification)
    assert action.templates() == {"title": "t", "body": "b", "deepLink": "{{ x }}"}


def test_retries_back_off_exponentially_up_to_the_cap_and_then_stop() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=5, max_attempts=4)
    assert policy.next_attempt(1, NOW) == NOW + dt.timedelta(seconds=2)
    assert policy.next_attempt(2, NOW) == NOW + dt.timedelta(seconds=4)
    assert policy.next_attempt(3, NOW) == NOW + dt.timedelta(seconds=5)
    assert policy.next_attempt(4, NOW) is None


def test_failed_rules_come_from_the_stored_evaluation() -> None:
    evaluation = {
        "policies": [
            {
                "rules": [
                    {"ruleType": "passcodeRequired", "requirement": "a passcode", "outcome": "failed"},
                    {"ruleType": "osMinimumVersion", "requirement": "OS 17.0 or later", "outcome": "passed"},
                ]
            },
            {"rules": [{"ruleType": "passcodeRequired", "requirement": "a passcode", "outcome": "failed"}]},
        ]
    }
    assert failed_rules(evaluation) == ["a passcode"]
    assert failed_rules({}) == []
