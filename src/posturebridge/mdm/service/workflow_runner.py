"""Carries out workflow runs after the transactions that queued them committed.

``WorkflowRunner.run_once(now)`` is one round: fire scheduled rules, turn new compliance transitions of
the change feed into runs, then lease the due runs and carry each out in its own transactions (a few
at once, in threads). The MDM
app calls it from a background task; tests call it with a fixed ``now``.

Each action type has its executor (``EXECUTORS``). A Hub notification is written in the same
transaction that marks its run succeeded, so it is sent exactly once. A custom connector call happens
between two transactions (lease, then outcome and CA log entry); a process that dies in between leaves
a lease that runs out, and the call is made again (at least once, as every Graph write here is
idempotent). Retryable failures wait ``RetryPolicy`` backoff (or the server's Retry-After, if longer)
and give up after ``max_attempts`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.common.ids import new_id
from posturebridge.mdm.domain.workflows import (
    ACTION_TYPES,
    REGISTRATION_DEEP_LINK,
    RetryPolicy,
    RunCustomConnector,
    SendHubNotification,
    failed_rules,
)
from posturebridge.mdm.models import CustomConnector, DeviceRow
from posturebridge.mdm.service import device_logs, sensors, templating, workflows
from posturebridge.mdm.service.compliance import device_snapshot
from posturebridge.mdm.service.connectors import ConnectorCaller, ConnectorResponse, build_request
from posturebridge.mdm.service.device_logs import CaLogFields
from posturebridge.mdm.service.errors import MdmError
from posturebridge.mdm.service.templating import TemplateRenderError
from posturebridge.mdm.service.workflows import ClaimedRun

log = logging.getLogger(__name__)
T = TypeVar("T")
CONNECTOR_CHANNEL = "customConnector"


def template_variables(session: Session, run: ClaimedRun) -> dict[str, Any]:
    """What action templates may use: ``device``, ``compliance``, ``sensors``, ``trigger``, ``rule``,
    ``registrationDeepLink``."""
    device = session.get(DeviceRow, run.device_id)
    if device is None:
        raise TemplateRenderError(f"device {run.device_id} no longer exists")
    evaluation = device.evaluation or {}
    return {
        "device": {**device_snapshot(device), "serialNumber": device.serial_number, "udid": device.udid},
        "compliance": {
            "state": device.compliance_state,
            "isCompliant": device.is_compliant,
            "failedRules": failed_rules(evaluation),
            "explanation": list(evaluation.get("explanation") or []),
        },
        "sensors": sensors.sensor_values(session, device.id),
        "trigger": dict(run.trigger),
        "rule": {"id": run.rule_id, "name": run.rule_name},
        "registrationDeepLink": REGISTRATION_DEEP_LINK,
    }


@dataclass(frozen=True)
class RoundReport:
    queued: int
    executed: int


Executor = Callable[["WorkflowRunner", ClaimedRun, dt.datetime], None]


@dataclass
class WorkflowRunner:
    sessions: sessionmaker[Session]
    caller: ConnectorCaller
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease: dt.timedelta = dt.timedelta(minutes=5)
    batch: int = 50
    concurrency: int = 4
    """Runs carried out at once (a slow connector must not hold up every notification behind it)."""
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def stop(self) -> None:
        """Claim nothing more (the runs already claimed are finished); for a process that is stopping."""
        self._stopping.set()

    def run_once(self, now: dt.datetime, *, scheduled: bool = True) -> RoundReport:
        queued = 0
        if scheduled:
            queued += self._in_transaction(lambda s: workflows.sweep_scheduled(s, now))
        queued += self._in_transaction(lambda s: workflows.collect_feed(s, now))
        executed = 0
        while not self._stopping.is_set():
            claimed = self._in_transaction(lambda s: workflows.claim_runs(s, now, self.lease, self.batch))
            if len(claimed) > 1 and self.concurrency > 1:
                with ThreadPoolExecutor(min(self.concurrency, len(claimed)), "workflow-run") as pool:
                    list(pool.map(lambda run: self.execute(run, now), claimed))
            else:
                for run in claimed:
                    self.execute(run, now)
            executed += len(claimed)
            if len(claimed) < self.batch:
                break
        return RoundReport(queued, executed)

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with unit_of_work(self.sessions) as session:
            result = work(session)
            session.commit()
            return result

    def execute(self, run: ClaimedRun, now: dt.datetime) -> None:
        executor = EXECUTORS.get(str(run.action.get("type")))
        try:
            if executor is None:
                self.fail(run, now, f"no executor for action type {run.action.get('type')!r}")
            else:
                executor(self, run, now)
        except Exception:  # one broken run must not stop the others; its lease runs out and it is retried
            log.exception("workflow run %s failed unexpectedly", run.id)

    def fail(self, run: ClaimedRun, now: dt.datetime, error: str) -> None:
        with unit_of_work(self.sessions) as session:
            row = workflows.lock_claimed(session, run)
            if row is not None:
                workflows.finish_run(row, now, outcome=None, error=error)
                session.commit()


def _send_notification(runner: WorkflowRunner, run: ClaimedRun, now: dt.datetime) -> None:
    action = ACTION_TYPES.parse(run.action, "action")
    assert isinstance(action, SendHubNotification)
    with unit_of_work(runner.sessions) as session:
        row = workflows.lock_claimed(session, run)
        if row is None:
            return
        try:
            variables = template_variables(session, run)
            templates = action.templates()
            rendered = {name: templating.render(text, variables, what=name) for name, text in templates.items()}
            notification = device_logs.send_notification(
                session,
                run.organisation_id,
                run.device_id,
                title=rendered["title"][:256],
                body=rendered["body"],
                deep_link=rendered.get("deepLink") or None,
                priority=action.priority,
                now=now,
            )
        except (TemplateRenderError, MdmError) as exc:
            session.rollback()
            runner.fail(run, now, str(exc))
            return
        workflows.finish_run(row, now, outcome=f"Hub notification {notification.id} sent", error=None)
        session.commit()


def _run_connector(runner: WorkflowRunner, run: ClaimedRun, now: dt.datetime) -> None:
    action = ACTION_TYPES.parse(run.action, "action")
    assert isinstance(action, RunCustomConnector)
    correlation_id = new_id()
    with unit_of_work(runner.sessions) as session:
        connector = session.get(CustomConnector, action.connector_id)
        if connector is None or connector.organisation_id != run.organisation_id:
            summary, response = f"custom connector {action.connector_id}", None
            error = f"custom connector {action.connector_id} no longer exists"
        else:
            summary = f"{connector.name}: {connector.method} {connector.url_template}"
            try:
                request = build_request(connector, template_variables(session, run), correlation_id)
                summary, error, response = f"{connector.name}: {request.summary()}", None, request
            except TemplateRenderError as exc:
                error, response = str(exc), None
    answer = runner.caller.call(response) if response is not None else ConnectorResponse(None, error)
    _record_call(runner, run, now, summary, answer, correlation_id)


def _record_call(
    runner: WorkflowRunner,
    run: ClaimedRun,
    now: dt.datetime,
    summary: str,
    answer: ConnectorResponse,
    correlation_id: str,
) -> None:
    retry_at = None
    error = answer.error
    if error is not None and answer.retryable:
        retry_at = runner.retry.next_attempt(run.attempt, now)
        if retry_at is None:
            error = f"{error}; gave up after {run.attempt} attempts"
        elif answer.retry_after_seconds is not None:
            retry_at = max(retry_at, now + dt.timedelta(seconds=answer.retry_after_seconds))
    with unit_of_work(runner.sessions) as session:
        row = workflows.lock_claimed(session, run)
        if row is None:
            return
        fields = CaLogFields(now, CONNECTOR_CHANNEL, summary[:2048], answer.status, error, correlation_id)
        device_logs.append_ca_log(session, run.organisation_id, run.device_id, fields, now)
        outcome = f"HTTP {answer.status}" if answer.status is not None else None
        workflows.finish_run(row, now, outcome=outcome, error=error, retry_at=retry_at)
        session.commit()


EXECUTORS: Mapping[str, Executor] = {
    SendHubNotification.type_name: _send_notification,
    RunCustomConnector.type_name: _run_connector,
}
"""How each action type is carried out (one per type in ``ACTION_TYPES``)."""
