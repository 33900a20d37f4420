"""Workflow rules (Intelligence Freestyle in the reference system): a trigger and the actions it runs.

Trigger types and action types live in registries (``TRIGGER_TYPES``, ``ACTION_TYPES``), each parsing
its own parameters from the rule's JSON, so a new kind is one class and one ``register`` call:

- scheduled triggers answer ``holds(device, now)``; a periodic sweep fires them once per device and
  rule until the condition stops holding (then they may fire again);
- event triggers answer ``fire(event)`` with the run's context (or ``None``: not this event).

Pure: no I/O, no clock, no templating (the service renders action templates); everything here takes
plain values and ``now``.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Generic, Self, TypeVar

from .errors import ValidationError
from .sensors import judge_sensors, sensor_text
from .types import DeviceId, JsonObject, JsonValue
from .vocabulary import ComplianceState, EnrollmentStatus, Platform
from .wire import Fields, Problems, json_list

REGISTRATION_DEEP_LINK = "wsonehub://conditionalaccess?partner=Microsoft"
"""The Hub link that starts Entra registration (the seed's deep link)."""
MAX_ACTIONS = 10
NOTIFICATION_PRIORITIES = ("standard", "high", "urgent")


class TriggerKind(StrEnum):
    SCHEDULED = "scheduled"
    EVENT = "event"


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# --- what triggers look at --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowDevice:
    """The device facts scheduled triggers read."""

    id: DeviceId
    platform: Platform
    enrollment_status: EnrollmentStatus
    enrolled_at: dt.datetime
    entra_device_id: str | None


class WorkflowEvent(ABC):
    """Something that happened to one device; event triggers of the same ``event_type`` look at it."""

    event_type: ClassVar[str]
    device_id: DeviceId


@dataclass(frozen=True)
class ComplianceChanged(WorkflowEvent):
    event_type: ClassVar[str] = "complianceStateChanged"
    device_id: DeviceId
    previous_state: str | None
    state: str
    is_compliant: bool
    explanation: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensorsChanged(WorkflowEvent):
    event_type: ClassVar[str] = "sensorResultChanged"
    device_id: DeviceId
    changed: Mapping[str, tuple[str | None, str]]
    values: Mapping[str, str]
    """Every sensor value of the device after the report."""


# --- triggers ---------------------------------------------------------------------------------------


class Typed(ABC):
    """A trigger or action: its wire ``type`` and parameters (``{"type": ..., **params}``)."""

    type_name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_params(cls, fields: Fields) -> Self: ...

    @abstractmethod
    def params(self) -> JsonObject: ...

    def to_dict(self) -> JsonObject:
        return {"type": self.type_name, **self.params()}


class WorkflowTrigger(Typed):
    kind: ClassVar[TriggerKind]


class ScheduledTrigger(WorkflowTrigger):
    kind = TriggerKind.SCHEDULED

    @abstractmethod
    def holds(self, device: WorkflowDevice, now: dt.datetime) -> bool:
        """Whether the rule should fire for ``device`` at ``now`` (it fires once while this holds)."""


class EventTrigger(WorkflowTrigger):
    kind = TriggerKind.EVENT

    @abstractmethod
    def fire(self, event: WorkflowEvent) -> JsonObject | None:
        """The run's context if ``event`` fires this trigger, else ``None``."""


@dataclass(frozen=True)
class EnrolledNotRegisteredInEntra(ScheduledTrigger):
    """Enrolled for ``hours`` and still no Entra device ID: the user has not registered the device."""

    type_name: ClassVar[str] = "enrolledNotRegisteredInEntra"
    hours: int
    platforms: frozenset[Platform] = frozenset()

    @classmethod
    def from_params(cls, fields: Fields) -> Self:
        hours = fields.integer("hours", minimum=0, maximum=24 * 365)
        platforms = frozenset(_platforms(fields))
        return cls(hours, platforms)

    def params(self) -> JsonObject:
        return {"hours": self.hours, "platforms": json_list(frozenset(p.value for p in self.platforms))}

    def holds(self, device: WorkflowDevice, now: dt.datetime) -> bool:
        return (
            device.enrollment_status is EnrollmentStatus.ENROLLED
            and device.entra_device_id is None
            and (not self.platforms or device.platform in self.platforms)
            and now >= device.enrolled_at + dt.timedelta(hours=self.hours)
        )


@dataclass(frozen=True)
class ComplianceStateChangedTrigger(EventTrigger):
    """The device's compliance state moved (optionally: only into one of ``toStates``)."""

    type_name: ClassVar[str] = ComplianceChanged.event_type
    to_states: frozenset[ComplianceState] = frozenset()

    @classmethod
    def from_params(cls, fields: Fields) -> Self:
        problems = Problems()
        states: set[ComplianceState] = set()
        for index, name in enumerate(fields.text_list("toStates")):
            try:
                states.add(ComplianceState(name))
            except ValueError:
                known = ", ".join(s.value for s in ComplianceState)
                path = f"{fields.path('toStates')}[{index}]"
                problems.add(ValidationError.at(path, f"{name!r} is not one of: {known}"))
        problems.raise_if_any()
        return cls(frozenset(states))

    def params(self) -> JsonObject:
        return {"toStates": json_list(frozenset(s.value for s in self.to_states))}

    def fire(self, event: WorkflowEvent) -> JsonObject | None:
        if not isinstance(event, ComplianceChanged):
            return None
        if self.to_states and event.state not in {s.value for s in self.to_states}:
            return None
        explanation: list[JsonValue] = list(event.explanation)
        return {
            "previousState": event.previous_state,
            "state": event.state,
            "isCompliant": event.is_compliant,
            "explanation": explanation,
        }


@dataclass(frozen=True)
class SensorResultChangedTrigger(EventTrigger):
    """A sensor value changed (any, or one of ``sensors``). ``compliantWhen`` (name -> expected value)
    judges the device's sensors; the run's context says ``sensorsCompliant`` and ``failedSensors``."""

    type_name: ClassVar[str] = SensorsChanged.event_type
    sensors: frozenset[str] = frozenset()
    compliant_when: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, fields: Fields) -> Self:
        sensors = frozenset(fields.text_list("sensors"))
        problems = Problems()
        required: dict[str, str] = {}
        for name, path, value in fields.entries("compliantWhen"):
            try:
                required[name] = sensor_text(value, path)
            except ValidationError as exc:
                problems.add(exc)
        problems.raise_if_any()
        return cls(sensors, required)

    def params(self) -> JsonObject:
        required: dict[str, JsonValue] = dict(sorted(self.compliant_when.items()))
        return {"sensors": json_list(self.sensors), "compliantWhen": required}

    def fire(self, event: WorkflowEvent) -> JsonObject | None:
        if not isinstance(event, SensorsChanged):
            return None
        watched = [name for name in sorted(event.changed) if not self.sensors or name in self.sensors]
        if not watched:
            return None
        verdict = judge_sensors(event.values, self.compliant_when)
        changed: dict[str, JsonValue] = {
            name: {"previous": event.changed[name][0], "value": event.changed[name][1]} for name in watched
        }
        return {
            "changed": changed,
            "sensorsCompliant": verdict.compliant,
            "failedSensors": list(verdict.failed),
            "explanation": verdict.explain(),
        }


# --- actions ----------------------------------------------------------------------------------------


class WorkflowAction(Typed):
    def templates(self) -> Mapping[str, str]:
        """Parameter name -> template text the service must be able to render (checked on save)."""
        return {}


@dataclass(frozen=True)
class SendHubNotification(WorkflowAction):
    """A Hub notification into the device's inbox; title, body and deep link are templates."""

    type_name: ClassVar[str] = "sendHubNotification"
    title: str
    body: str
    deep_link: str | None = None
    priority: str = "standard"

    @classmethod
    def from_params(cls, fields: Fields) -> Self:
        title = fields.text("title", max_length=256)
        body = fields.text("body", max_length=8192)
        deep_link = fields.optional_text("deepLink", max_length=2048)
        priority = fields.optional_text("priority", max_length=16) or "standard"
        if priority not in NOTIFICATION_PRIORITIES:
            raise ValidationError.at(
                fields.path("priority"), f"{priority!r} is not one of: {', '.join(NOTIFICATION_PRIORITIES)}"
            )
        return cls(title, body, deep_link, priority)

    def params(self) -> JsonObject:
        return {"title": self.title, "body": self.body, "deepLink": self.deep_link, "priority": self.priority}

    def templates(self) -> Mapping[str, str]:
        found = {"title": self.title, "body": self.body}
        if self.deep_link is not None:
            found["deepLink"] = self.deep_link
        return found


@dataclass(frozen=True)
class RunCustomConnector(WorkflowAction):
    """Call the organisation's custom connector ``connectorId`` for the device."""

    type_name: ClassVar[str] = "runCustomConnector"
    connector_id: str

    @classmethod
    def from_params(cls, fields: Fields) -> Self:
        return cls(fields.text("connectorId", max_length=36))

    def params(self) -> JsonObject:
        return {"connectorId": self.connector_id}


# --- registries -------------------------------------------------------------------------------------

K = TypeVar("K", WorkflowTrigger, WorkflowAction)


class TypeRegistry(Generic[K]):
    """Classes by wire name (``type``); parses ``{"type": ..., **params}`` into one of them."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._types: dict[str, type[K]] = {}

    def register(self, kind: type[K]) -> type[K]:
        name = kind.type_name
        if name in self._types:
            raise ValueError(f"{self._what} {name!r} is already registered")
        self._types[name] = kind
        return kind

    def get(self, name: str) -> type[K] | None:
        return self._types.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._types))

    def __iter__(self) -> Iterator[type[K]]:
        return iter(self._types[name] for name in self.names())

    def parse(self, data: object, path: str = "") -> K:
        fields = Fields(data, path)
        name = fields.text("type", max_length=64)
        kind = self._types.get(name)
        if kind is None:
            raise ValidationError.at(
                fields.path("type"), f"unknown {self._what} {name!r}; known: {', '.join(self.names())}"
            )
        parsed = kind.from_params(fields)
        fields.reject_unknown()
        return parsed


TRIGGER_TYPES: TypeRegistry[WorkflowTrigger] = TypeRegistry("trigger type")
ACTION_TYPES: TypeRegistry[WorkflowAction] = TypeRegistry("action type")
for _trigger in (EnrolledNotRegisteredInEntra, ComplianceStateChangedTrigger, SensorResultChangedTrigger):
    TRIGGER_TYPES.register(_trigger)
for _action in (SendHubNotification, RunCustomConnector):
    ACTION_TYPES.register(_action)


@dataclass(frozen=True)
class WorkflowDefinition:
    """A rule's trigger and its actions (run in order, each recorded on its own)."""

    trigger: WorkflowTrigger
    actions: tuple[WorkflowAction, ...]

    @classmethod
    def parse(
        cls,
        trigger: object,
        actions: Sequence[object],
        *,
        triggers: TypeRegistry[WorkflowTrigger] = TRIGGER_TYPES,
        action_types: TypeRegistry[WorkflowAction] = ACTION_TYPES,
    ) -> WorkflowDefinition:
        problems = Problems()
        parsed_trigger = problems.collect(lambda: triggers.parse(trigger, "trigger"))
        parsed_actions: list[WorkflowAction] = []
        if not actions:
            problems.add(ValidationError.at("actions", "a rule needs at least one action"))
        if len(actions) > MAX_ACTIONS:
            problems.add(ValidationError.at("actions", f"at most {MAX_ACTIONS} actions per rule"))
        for index, item in enumerate(actions):
            try:
                parsed_actions.append(action_types.parse(item, f"actions[{index}]"))
            except ValidationError as exc:
                problems.add(exc)
        problems.raise_if_any()
        assert parsed_trigger is not None
        return cls(parsed_trigger, tuple(parsed_actions))

    @classmethod
    def from_stored(cls, trigger: object, actions: Sequence[object]) -> WorkflowDefinition:
        return cls.parse(trigger, actions)


def _platforms(fields: Fields) -> Iterator[Platform]:
    problems = Problems()
    found: list[Platform] = []
    for index, name in enumerate(fields.text_list("platforms")):
        try:
            found.append(Platform(name))
        except ValueError:
            known = ", ".join(p.value for p in Platform)
            path = f"{fields.path('platforms')}[{index}]"
            problems.add(ValidationError.at(path, f"{name!r} is not one of: {known}"))
    problems.raise_if_any()
    return iter(found)


# --- retries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for failed connector runs: ``base * 2**(attempt-1)`` capped, at most
    ``max_attempts`` attempts in all."""

    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    max_attempts: int = 5

    def next_attempt(self, attempts: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after ``attempts`` failed attempts, or ``None``: give up."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return now + dt.timedelta(seconds=delay)


def failed_rules(evaluation: Mapping[str, object]) -> list[str]:
    """The requirements the device fails, from a stored ``ComplianceEvaluation.to_dict()``."""
    found: list[str] = []
    policies = evaluation.get("policies")
    for policy in policies if isinstance(policies, list) else []:
        rules = policy.get("rules") if isinstance(policy, Mapping) else None
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, Mapping) and rule.get("outcome") == "failed":
                text = str(rule.get("requirement") or rule.get("ruleType"))
                if text not in found:
                    found.append(text)
    return found
