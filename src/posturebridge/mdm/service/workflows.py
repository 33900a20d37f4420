"""Workflow rules and their runs: the units of work the workflow runner (``workflow_runner``) and the
admin API call. Nothing here commits or does network I/O.

How triggers become runs (each run = one action of one rule for one device, written ``pending``):

- sensor results: ``enqueue_event`` in the transaction that stores the report (``sensors.report``);
- compliance transitions: the check-in, sweep or re-evaluation writes the transition to the change feed
  in its own transaction; that feed entry is the outbox row. ``collect_feed`` turns entries into runs
  and advances the organisation's cursor in one transaction, so each transition is taken exactly once;
- scheduled triggers: ``sweep_scheduled`` fires each rule once per device while its condition holds
  (a ``workflow_firings`` row), and forgets the firing when the condition stops holding.

``claim_runs`` leases due runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several MDM processes share
them); ``finish_run`` records the outcome, or the next attempt for a retryable failure.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import ComplianceState, EnrollmentStatus, Platform
from posturebridge.mdm.domain.workflows import (
    TRIGGER_TYPES,
    ComplianceChanged,
    EnrolledNotRegisteredInEntra,
    EventTrigger,
    RunCustomConnector,
    RunStatus,
    ScheduledTrigger,
    TriggerKind,
    WorkflowDefinition,
    WorkflowDevice,
    WorkflowEvent,
)
from posturebridge.mdm.models import (
    CustomConnector,
    DeviceRow,
    FeedCounter,
    FeedEntry,
    WorkflowFeedCursor,
    WorkflowFiring,
    WorkflowRule,
    WorkflowRun,
)
from posturebridge.mdm.service import templating
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.feed import FeedKind
from posturebridge.mdm.service.transactions import begin_write

log = logging.getLogger(__name__)
FEED_BATCH = 500
SCHEDULED_BATCH = 500
FEED_TRIGGERS = {ComplianceChanged.event_type: FeedKind.COMPLIANCE_STATE}
"""Event triggers fed by the change feed, and the feed entry kind each reads."""


# --- rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleFields:
    name: str
    enabled: bool
    trigger: object
    actions: Sequence[object]


def _definition(session: Session, organisation_id: str, fields: RuleFields) -> WorkflowDefinition:
    definition = WorkflowDefinition.parse(fields.trigger, fields.actions)
    templates: dict[str, str] = {}
    for index, action in enumerate(definition.actions):
        templates.update({f"actions[{index}].{name}": text for name, text in action.templates().items()})
        if isinstance(action, RunCustomConnector):
            known = session.scalar(
                select(CustomConnector.id).where(
                    CustomConnector.id == action.connector_id, CustomConnector.organisation_id == organisation_id
                )
            )
            if known is None:
                raise BadRequest(
                    f"custom connector {action.connector_id} not found",
                    target=f"actions[{index}].connectorId",
                    code="connectorNotFound",
                )
    templating.check(templates)
    return definition


def _unique_name(session: Session, organisation_id: str, name: str, rule_id: str | None = None) -> None:
    statement = select(WorkflowRule.id).where(
        WorkflowRule.organisation_id == organisation_id, WorkflowRule.name == name
    )
    if rule_id is not None:
        statement = statement.where(WorkflowRule.id != rule_id)
    if session.scalar(statement) is not None:
        raise Conflict(f"a workflow rule named {name!r} exists", target="name", code="nameInUse")


def _start_feed_cursor(session: Session, organisation_id: str, trigger_type: str) -> None:
    """Feed-driven rules read transitions from now on: start the organisation's cursor at the feed's end."""
    if trigger_type not in FEED_TRIGGERS or session.get(WorkflowFeedCursor, organisation_id) is not None:
        return
    last = session.scalar(select(FeedCounter.last_sequence).where(FeedCounter.organisation_id == organisation_id))
    session.add(WorkflowFeedCursor(organisation_id=organisation_id, after_sequence=int(last or 0)))


def create_rule(session: Session, organisation_id: str, fields: RuleFields, now: dt.datetime) -> WorkflowRule:
    begin_write(session)
    definition = _definition(session, organisation_id, fields)
    _unique_name(session, organisation_id, fields.name)
    row = WorkflowRule(
        id=new_id(),
        organisation_id=organisation_id,
        name=fields.name,
        enabled=fields.enabled,
        trigger_type=definition.trigger.type_name,
        trigger=dict(definition.trigger.to_dict()),
        actions=[dict(action.to_dict()) for action in definition.actions],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _start_feed_cursor(session, organisation_id, row.trigger_type)
    return row


def replace_rule(
    session: Session, organisation_id: str, rule_id: str, fields: RuleFields, now: dt.datetime
) -> WorkflowRule:
    begin_write(session)
    row = get_rule(session, organisation_id, rule_id)
    definition = _definition(session, organisation_id, fields)
    _unique_name(session, organisation_id, fields.name, rule_id)
    if row.trigger != definition.trigger.to_dict():
        session.execute(delete(WorkflowFiring).where(WorkflowFiring.rule_id == rule_id))
    row.name, row.enabled = fields.name, fields.enabled
    row.trigger_type = definition.trigger.type_name
    row.trigger = dict(definition.trigger.to_dict())
    row.actions = [dict(action.to_dict()) for action in definition.actions]
    row.updated_at = now
    _start_feed_cursor(session, organisation_id, row.trigger_type)
    return row


def get_rule(session: Session, organisation_id: str, rule_id: str) -> WorkflowRule:
    row = session.scalar(
        select(WorkflowRule).where(WorkflowRule.id == rule_id, WorkflowRule.organisation_id == organisation_id)
    )
    if row is None:
        raise NotFound(f"workflow rule {rule_id} not found", target="ruleId", code="workflowRuleNotFound")
    return row


def list_rules(session: Session, organisation_id: str) -> list[WorkflowRule]:
    return list(
        session.scalars(
            select(WorkflowRule)
            .where(WorkflowRule.organisation_id == organisation_id)
            .order_by(WorkflowRule.created_at, WorkflowRule.id)
        )
    )


def delete_rule(session: Session, organisation_id: str, rule_id: str) -> None:
    begin_write(session)
    row = get_rule(session, organisation_id, rule_id)
    session.execute(delete(WorkflowRun).where(WorkflowRun.rule_id == rule_id))
    session.execute(delete(WorkflowFiring).where(WorkflowFiring.rule_id == rule_id))
    session.delete(row)


def connector_in_use(session: Session, organisation_id: str, connector_id: str) -> list[str]:
    """Names of the rules whose actions run ``connector_id``."""
    return [
        rule.name
        for rule in list_rules(session, organisation_id)
        if any(a.get("connectorId") == connector_id for a in rule.actions if isinstance(a, dict))
    ]


# --- triggers into runs -----------------------------------------------------------------------------


def _enabled_rules(session: Session, organisation_id: str, trigger_type: str) -> list[WorkflowRule]:
    return list(
        session.scalars(
            select(WorkflowRule)
            .where(
                WorkflowRule.organisation_id == organisation_id,
                WorkflowRule.trigger_type == trigger_type,
                WorkflowRule.enabled.is_(True),
            )
            .order_by(WorkflowRule.created_at, WorkflowRule.id)
        )
    )


def _add_runs(
    session: Session, rule: WorkflowRule, device_id: str, key: str, trigger: Mapping[str, Any], now: dt.datetime
) -> int:
    for index, action in enumerate(rule.actions):
        session.add(
            WorkflowRun(
                id=new_id(),
                organisation_id=rule.organisation_id,
                rule_id=rule.id,
                device_id=device_id,
                trigger_type=rule.trigger_type,
                trigger_key=key,
                context={"trigger": dict(trigger), "action": action, "ruleName": rule.name},
                action_index=index,
                action_type=str(action["type"]),
                status=RunStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                outcome=None,
                error=None,
                created_at=now,
                finished_at=None,
            )
        )
    return len(rule.actions)


def enqueue_event(session: Session, organisation_id: str, event: WorkflowEvent, key: str, now: dt.datetime) -> int:
    """Queue the runs of every enabled rule ``event`` fires (in the caller's transaction); how many."""
    queued = 0
    for rule in _enabled_rules(session, organisation_id, event.event_type):
        trigger = TRIGGER_TYPES.parse(rule.trigger, "trigger")
        assert isinstance(trigger, EventTrigger)
        context = trigger.fire(event)
        if context is not None:
            queued += _add_runs(session, rule, event.device_id, key, context, now)
    return queued


def collect_feed(session: Session, now: dt.datetime, batch: int = FEED_BATCH) -> int:
    """Turn new compliance transitions of the feed into runs; advance the cursors. How many runs."""
    begin_write(session)
    cursors = session.scalars(
        select(WorkflowFeedCursor).with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).all()
    queued = 0
    for cursor in cursors:
        pruned = session.scalar(
            select(FeedCounter.pruned_through).where(FeedCounter.organisation_id == cursor.organisation_id)
        )
        if pruned is not None and pruned > cursor.after_sequence:
            log.warning(
                "feed retention removed entries %d..%d of organisation %s before workflow rules saw them",
                cursor.after_sequence + 1,
                pruned,
                cursor.organisation_id,
            )
            cursor.after_sequence = pruned
        entries = session.scalars(
            select(FeedEntry)
            .where(FeedEntry.organisation_id == cursor.organisation_id, FeedEntry.sequence > cursor.after_sequence)
            .order_by(FeedEntry.sequence)
            .limit(batch)
        ).all()
        for entry in entries:
            queued += _enqueue_feed_entry(session, entry, now)
        if entries:
            cursor.after_sequence = entries[-1].sequence
    return queued


def _enqueue_feed_entry(session: Session, entry: FeedEntry, now: dt.datetime) -> int:
    if entry.kind != FeedKind.COMPLIANCE_STATE.value or entry.device_id is None or entry.value is None:
        return 0
    evaluation = entry.payload.get("evaluation") or {}
    event = ComplianceChanged(
        entry.device_id,
        entry.previous_value,
        entry.value,
        bool(evaluation.get("isCompliant", entry.value == ComplianceState.COMPLIANT.value)),
        tuple(str(line) for line in evaluation.get("explanation") or ()),
    )
    queued = 0
    for rule in _enabled_rules(session, entry.organisation_id, event.event_type):
        if rule.created_at > entry.occurred_at:
            continue  # the transition happened before the rule existed
        trigger = TRIGGER_TYPES.parse(rule.trigger, "trigger")
        assert isinstance(trigger, EventTrigger)
        context = trigger.fire(event)
        if context is not None:
            queued += _add_runs(session, rule, entry.device_id, f"feed:{entry.sequence}", context, now)
    return queued


CandidateFilter = Callable[[Any, dt.datetime], list[ColumnElement[bool]]]


def _not_registered_candidates(trigger: EnrolledNotRegisteredInEntra, now: dt.datetime) -> list[ColumnElement[bool]]:
    return [DeviceRow.entra_device_id.is_(None), DeviceRow.enrolled_at <= now - dt.timedelta(hours=trigger.hours)]


CANDIDATE_FILTERS: dict[type[ScheduledTrigger], CandidateFilter] = {
    EnrolledNotRegisteredInEntra: _not_registered_candidates,
}
"""SQL pre-filters per scheduled trigger type (the domain's ``holds`` decides; these only narrow)."""


def _workflow_device(row: DeviceRow) -> WorkflowDevice:
    return WorkflowDevice(
        row.id, Platform(row.platform), EnrollmentStatus(row.enrollment_status), row.enrolled_at, row.entra_device_id
    )


def sweep_scheduled(session: Session, now: dt.datetime, batch: int = SCHEDULED_BATCH) -> int:
    """Fire scheduled rules for devices whose condition holds and that have not fired; forget firings
    whose condition no longer holds. How many runs were queued."""
    begin_write(session)
    scheduled = [kind.type_name for kind in TRIGGER_TYPES if kind.kind is TriggerKind.SCHEDULED]
    rules = session.scalars(
        select(WorkflowRule)
        .where(WorkflowRule.trigger_type.in_(scheduled), WorkflowRule.enabled.is_(True))
        .order_by(WorkflowRule.id)
        .with_for_update(skip_locked=True)
    ).all()
    queued = 0
    for rule in rules:
        trigger = TRIGGER_TYPES.parse(rule.trigger, "trigger")
        assert isinstance(trigger, ScheduledTrigger)
        queued += _fire(session, rule, trigger, now, batch)
        _reset(session, rule, trigger, now)
    return queued


def _fire(session: Session, rule: WorkflowRule, trigger: ScheduledTrigger, now: dt.datetime, batch: int) -> int:
    fired = select(WorkflowFiring.device_id).where(WorkflowFiring.rule_id == rule.id)
    narrowing = CANDIDATE_FILTERS.get(type(trigger))
    statement = select(DeviceRow).where(
        DeviceRow.organisation_id == rule.organisation_id,
        DeviceRow.enrollment_status == EnrollmentStatus.ENROLLED.value,
        DeviceRow.id.not_in(fired),
        *(narrowing(trigger, now) if narrowing else []),
    )
    queued = 0
    for device in session.scalars(statement.order_by(DeviceRow.enrolled_at, DeviceRow.id).limit(batch)):
        if not trigger.holds(_workflow_device(device), now):
            continue
        session.add(WorkflowFiring(rule_id=rule.id, device_id=device.id, fired_at=now))
        context = {**trigger.params(), "enrolledDateTime": device.enrolled_at.isoformat().replace("+00:00", "Z")}
        queued += _add_runs(session, rule, device.id, f"scheduled:{now.isoformat()}", context, now)
    return queued


def _reset(session: Session, rule: WorkflowRule, trigger: ScheduledTrigger, now: dt.datetime) -> None:
    rows = session.execute(
        select(WorkflowFiring, DeviceRow)
        .join(DeviceRow, DeviceRow.id == WorkflowFiring.device_id)
        .where(WorkflowFiring.rule_id == rule.id)
    )
    for firing, device in rows:
        if not trigger.holds(_workflow_device(device), now):
            session.delete(firing)


# --- runs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedRun:
    id: str
    organisation_id: str
    rule_id: str
    rule_name: str
    device_id: str
    trigger_type: str
    trigger: Mapping[str, Any]
    action: Mapping[str, Any]
    attempt: int


def claim_runs(session: Session, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[ClaimedRun]:
    """Lease up to ``limit`` runs that are due (or whose lease ran out); the caller commits."""
    begin_write(session)
    due = (WorkflowRun.status == RunStatus.PENDING.value) & (WorkflowRun.next_attempt_at <= now)
    abandoned = (WorkflowRun.status == RunStatus.RUNNING.value) & (WorkflowRun.lease_until <= now)
    rows = session.scalars(
        select(WorkflowRun)
        .where(due | abandoned)
        .order_by(WorkflowRun.next_attempt_at, WorkflowRun.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    claimed = []
    for row in rows:
        row.status = RunStatus.RUNNING.value
        row.attempts += 1
        row.lease_until = now + lease
        claimed.append(
            ClaimedRun(
                row.id,
                row.organisation_id,
                row.rule_id,
                str(row.context.get("ruleName", "")),
                row.device_id,
                row.trigger_type,
                dict(row.context.get("trigger") or {}),
                dict(row.context.get("action") or {}),
                row.attempts,
            )
        )
    return claimed


def lock_claimed(session: Session, run: ClaimedRun) -> WorkflowRun | None:
    """The run row, locked, if it is still this claim's (no other process took it over since)."""
    begin_write(session)
    row = session.scalars(
        select(WorkflowRun).where(WorkflowRun.id == run.id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if row is None or row.status != RunStatus.RUNNING.value or row.attempts != run.attempt:
        return None
    return row


def finish_run(
    row: WorkflowRun, now: dt.datetime, *, outcome: str | None, error: str | None, retry_at: dt.datetime | None = None
) -> None:
    """Succeeded (no error), failed for good (error, no ``retry_at``) or pending again at ``retry_at``."""
    row.outcome = outcome[:2048] if outcome else None
    row.error = error[:2048] if error else None
    row.lease_until = None
    if error is not None and retry_at is not None:
        row.status = RunStatus.PENDING.value
        row.next_attempt_at = retry_at
        return
    row.status = RunStatus.FAILED.value if error is not None else RunStatus.SUCCEEDED.value
    row.next_attempt_at = None
    row.finished_at = now


@dataclass(frozen=True)
class RunQuery:
    rule_id: str | None = None
    device_id: str | None = None
    status: str | None = None
    limit: int = 100


def list_runs(session: Session, organisation_id: str, query: RunQuery) -> list[WorkflowRun]:
    statement = select(WorkflowRun).where(WorkflowRun.organisation_id == organisation_id)
    if query.rule_id is not None:
        statement = statement.where(WorkflowRun.rule_id == query.rule_id)
    if query.device_id is not None:
        statement = statement.where(WorkflowRun.device_id == query.device_id)
    if query.status is not None:
        if query.status not in {s.value for s in RunStatus}:
            known = ", ".join(s.value for s in RunStatus)
            raise BadRequest(f"{query.status!r} is not one of: {known}", target="status")
        statement = statement.where(WorkflowRun.status == query.status)
    return list(
        session.scalars(
            statement.order_by(WorkflowRun.created_at.desc(), WorkflowRun.action_index.desc()).limit(query.limit)
        )
    )


def run_counts(session: Session, organisation_id: str) -> dict[str, int]:
    rows = session.execute(
        select(WorkflowRun.status, func.count())
        .where(WorkflowRun.organisation_id == organisation_id)
        .group_by(WorkflowRun.status)
    )
    return {status: int(count) for status, count in rows}
