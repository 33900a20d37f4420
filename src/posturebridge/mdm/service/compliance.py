"""Compliance at check-in and on a schedule: load what applies to a device, evaluate it with the domain,
store the explained verdict, carry out due escalation actions and record transitions in the feed.

``sweep`` re-evaluates devices whose ``next_evaluation_at`` is due (validity period ending, grace
period ending, next escalation, a policy change). Several MDM processes may sweep at once: rows are
claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers anyway.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import (
    ActionType,
    ComplianceEvaluation,
    CompliancePolicy,
    ComplianceSettings,
    Device,
    EnrollmentStatus,
    Ownership,
    Platform,
    PostureSample,
    PriorEvaluation,
    SampleCursor,
    SmartGroup,
    accept_sample,
    evaluate_compliance,
    parse_os_version,
    policies_for_device,
)
from posturebridge.mdm.domain.errors import InvalidOsVersionError, MdmDomainError
from posturebridge.mdm.models import (
    CompliancePolicyRow,
    DeviceAction,
    DeviceRow,
    Notification,
    Organisation,
    OrganisationSettings,
    SmartGroupRow,
    UserGroupMember,
)
from posturebridge.mdm.service import credentials, feed
from posturebridge.mdm.service.errors import Forbidden, MdmError, NotFound
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from posturebridge.mdm.service.transactions import begin_write

SWEEP_BATCH = 200
NOTIFY_ACTIONS = frozenset({ActionType.NOTIFICATION, ActionType.PUSH_NOTIFICATION})
COMPLIANCE_DEEP_LINK = "wsonehub://foryou"


@dataclass(frozen=True)
class OrgConfiguration:
    """What decides compliance in one organisation, parsed once per configuration version."""

    version: int
    settings: ComplianceSettings
    policies: tuple[CompliancePolicy, ...]
    smart_groups: tuple[SmartGroup, ...]


class ConfigurationCache:
    """Parsed policies and smart groups per organisation, refreshed when the configuration version moves.

    The version is read inside the caller's transaction after the device row is locked, so a policy
    change that commits first is seen, and one that commits later re-schedules the device.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_organisation: dict[str, OrgConfiguration] = {}

    def get(self, session: Session, organisation_id: str) -> OrgConfiguration:
        version = session.connection().scalar(_CONFIGURATION_VERSION, {"organisation_id": organisation_id})
        if version is None:
            raise NotFound("the organisation does not exist", code="organisationNotFound")
        with self._lock:
            cached = self._by_organisation.get(organisation_id)
        if cached is not None and cached.version == version:
            return cached
        loaded = load_configuration(session, organisation_id, version)
        with self._lock:
            self._by_organisation[organisation_id] = loaded
        return loaded


_CONFIGURATION_VERSION = select(Organisation.configuration_version).where(
    Organisation.id == bindparam("organisation_id")
)


def load_configuration(session: Session, organisation_id: str, version: int) -> OrgConfiguration:
    settings_row = session.get(OrganisationSettings, organisation_id)
    settings = ComplianceSettings.from_dict(settings_row.compliance) if settings_row else ComplianceSettings()
    policies = tuple(
        CompliancePolicy.from_dict(document)
        for document in session.scalars(
            select(CompliancePolicyRow.document)
            .where(CompliancePolicyRow.organisation_id == organisation_id)
            .order_by(CompliancePolicyRow.created_at, CompliancePolicyRow.id)
        )
    )
    groups = tuple(
        SmartGroup.from_dict(definition)
        for definition in session.scalars(
            select(SmartGroupRow.definition).where(SmartGroupRow.organisation_id == organisation_id)
        )
    )
    return OrgConfiguration(version, settings, policies, groups)


def configuration_changed(session: Session, organisation_id: str, now: dt.datetime) -> None:
    """Policies, smart groups or settings changed: new cache version, every device re-evaluated soon."""
    session.execute(
        update(Organisation)
        .where(Organisation.id == organisation_id)
        .values(configuration_version=Organisation.configuration_version + 1)
        .execution_options(synchronize_session=False)
    )
    reschedule(session, organisation_id, now)


def reschedule(session: Session, organisation_id: str, now: dt.datetime, user_id: str | None = None) -> None:
    """Make the sweep re-evaluate the organisation's (or one user's) enrolled devices now."""
    statement = update(DeviceRow).where(
        DeviceRow.organisation_id == organisation_id,
        DeviceRow.enrollment_status == EnrollmentStatus.ENROLLED.value,
    )
    if user_id is not None:
        statement = statement.where(DeviceRow.user_id == user_id)
    session.execute(statement.values(next_evaluation_at=now).execution_options(synchronize_session=False))


def user_group_ids(session: Session, user_id: str | None) -> frozenset[str]:
    if user_id is None:
        return frozenset()
    return frozenset(session.scalars(select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)))


@dataclass(frozen=True)
class DeviceFacts:
    """What evaluation reads of a device row: an ORM ``DeviceRow`` or a Core result row, copied once.

    The check-in path reads and writes the device with Core statements (the ORM's unit of work was most
    of its cost); the other callers hold ORM rows. Both go through the same evaluation.
    """

    id: str
    organisation_id: str
    platform: str
    ownership: str
    enrollment_status: str
    enrolled_at: dt.datetime
    last_seen_at: dt.datetime | None
    model: str
    os_version: str | None
    user_id: str | None
    entra_device_id: str | None
    compliance_state: str
    is_compliant: bool
    next_evaluation_at: dt.datetime | None
    prior_evaluation: dict[str, Any]
    sample_cursor: dict[str, Any] | None
    latest_sample: dict[str, Any] | None

    @classmethod
    def of(cls, row: Any) -> DeviceFacts:
        return cls(**{name: getattr(row, name) for name in DEVICE_FACT_COLUMNS})


DEVICE_FACT_COLUMNS = tuple(f.name for f in fields(DeviceFacts))


def domain_device(row: DeviceRow | DeviceFacts, group_ids: frozenset[str]) -> Device:
    platform = Platform(row.platform)
    try:
        os_version = parse_os_version(platform, row.os_version) if row.os_version else None
    except InvalidOsVersionError:
        os_version = None
    return Device(
        id=row.id,
        platform=platform,
        ownership=Ownership(row.ownership),
        enrollment_status=EnrollmentStatus(row.enrollment_status),
        enrolled_at=row.enrolled_at,
        last_seen_at=row.last_seen_at,
        model=row.model,
        os_version=os_version,
        user_id=row.user_id,
        user_group_ids=group_ids,
    )


def device_snapshot(row: DeviceRow | DeviceFacts) -> dict[str, Any]:
    """The device as a feed consumer needs it to act without another call (latest state wins)."""
    return {
        "id": row.id,
        "platform": row.platform,
        "ownership": row.ownership,
        "enrollmentStatus": row.enrollment_status,
        "userId": row.user_id,
        "entraDeviceId": row.entra_device_id,
        "complianceState": row.compliance_state,
        "isCompliant": row.is_compliant,
        "osVersion": row.os_version,
        "model": row.model,
        "lastSeenDateTime": row.last_seen_at.isoformat().replace("+00:00", "Z") if row.last_seen_at else None,
    }


@dataclass(frozen=True)
class Verdict:
    """An evaluation and what storing it means: device columns to set, rows to add, feed entries to append."""

    evaluation: ComplianceEvaluation
    changes: dict[str, Any]
    records: list[DeviceAction | Notification]
    entries: list[NewFeedEntry]


def judge(
    session: Session,
    facts: DeviceFacts,
    configuration: OrgConfiguration,
    now: dt.datetime,
    *,
    sample: PostureSample | None = None,
    initial: bool = False,
) -> Verdict:
    """Evaluate a locked device; nothing is written here, the caller stores the verdict."""
    device = domain_device(facts, user_group_ids(session, facts.user_id))
    if sample is None and facts.latest_sample is not None:
        sample = PostureSample.from_dict(facts.latest_sample, device.platform)
    prior = None if initial else PriorEvaluation.from_dict(facts.prior_evaluation)
    policies = policies_for_device(device, configuration.policies, configuration.smart_groups)
    evaluation = evaluate_compliance(device, sample, policies, prior, configuration.settings, now)
    stored = dict(evaluation.to_dict())
    changes: dict[str, Any] = {
        "compliance_state": evaluation.state.value,
        "is_compliant": evaluation.is_compliant,
        "last_evaluated_at": now,
        "next_evaluation_at": evaluation.next_evaluation_at if device.is_enrolled else None,
        "evaluation": stored,
        "prior_evaluation": dict(evaluation.to_prior().to_dict()),
    }
    records: list[DeviceAction | Notification] = []
    for action in evaluation.due_actions:
        records.append(
            DeviceAction(
                organisation_id=facts.organisation_id,
                device_id=facts.id,
                policy_id=action.policy_id,
                action_type=action.action.action_type.value,
                action_key=action.key,
                due_at=action.due_at,
                executed_at=now,
            )
        )
        if action.action.action_type in NOTIFY_ACTIONS:
            records.append(_compliance_notification(facts, evaluation, action.policy_name, now))
    entries: list[NewFeedEntry] = []
    if evaluation.changed:
        after = replace(facts, compliance_state=evaluation.state.value, is_compliant=evaluation.is_compliant)
        entries.append(
            NewFeedEntry(
                FeedKind.COMPLIANCE_STATE,
                facts.id,
                evaluation.previous_state.value if evaluation.previous_state else None,
                evaluation.state.value,
                {
                    "device": device_snapshot(after),
                    "evaluation": {
                        "evaluatedDateTime": stored["evaluatedDateTime"],
                        "complianceState": evaluation.state.value,
                        "isCompliant": evaluation.is_compliant,
                        "failingSince": stored["failingSince"],
                        "explanation": list(cast(list[str], stored["explanation"])),
                    },
                },
            )
        )
    return Verdict(evaluation, changes, records, entries)


def evaluate_row(
    session: Session,
    row: DeviceRow,
    configuration: OrgConfiguration,
    now: dt.datetime,
    *,
    sample: PostureSample | None = None,
    initial: bool = False,
) -> tuple[ComplianceEvaluation, list[NewFeedEntry]]:
    """Evaluate a locked ORM device row, store the verdict and due actions; the feed entries to append."""
    with session.no_autoflush:
        verdict = judge(session, DeviceFacts.of(row), configuration, now, sample=sample, initial=initial)
    for name, value in verdict.changes.items():
        setattr(row, name, value)
    session.add_all(verdict.records)
    return verdict.evaluation, verdict.entries


def _compliance_notification(
    row: DeviceFacts, evaluation: ComplianceEvaluation, policy_name: str, now: dt.datetime
) -> Notification:
    reasons = [line for line in evaluation.explanation[1:] if not line.startswith("next:")][:5]
    return Notification(
        id=new_id(),
        organisation_id=row.organisation_id,
        device_id=row.id,
        title=f"Your device does not meet {policy_name}",
        body="\n".join(reasons) or "Your device does not meet your organisation's compliance policy.",
        deep_link=COMPLIANCE_DEEP_LINK,
        priority="high",
        created_at=now,
        read_at=None,
    )


@dataclass(frozen=True)
class CheckInResult:
    device_id: str
    compliance_state: str
    is_compliant: bool
    accepted: bool
    disposition: str
    reason: str
    evaluation: ComplianceEvaluation
    evaluation_document: dict[str, Any]
    """``evaluation.to_dict()`` as stored on the device (made once, for the store and the answer)."""


def check_in(
    session: Session,
    principal_device_id: str,
    device_id: str,
    body: object,
    now: dt.datetime,
    cache: ConfigurationCache,
) -> CheckInResult:
    """Take a posture sample from the device itself: refuse replays, ignore stale ones, evaluate."""
    begin_write(session)
    result, entries = _take_sample(session, Arrival(principal_device_id, device_id, body), now, cache, {})
    feed.append(session, result.organisation_id, entries, now)
    return result.outcome


@dataclass(frozen=True)
class Arrival:
    """One posture sample as it reached the MDM: who sent it, for which device, the body.

    The sender is either a device already authenticated (``principal_device_id``) or, with
    ``credential_hash``, the hash of the device credential it presented: that one is verified on the
    locked device row, in the check-in's own transaction, so the check-in needs no other query.
    """

    principal_device_id: str | None
    device_id: str
    body: object
    credential_hash: str | None = None


def check_in_many(
    session: Session, arrivals: Sequence[Arrival], now: dt.datetime, cache: ConfigurationCache
) -> list[CheckInResult | MdmError | MdmDomainError]:
    """Check in samples that arrived together, in one transaction; per sample its result or its refusal.

    A sample is refused (replay, invalid body, another device's, not enrolled) before anything of it
    is written, so a refusal leaves the others standing; any other error rolls the whole batch back.
    Samples of one device are taken in order, each seeing the one before. Feed entries are appended
    once per organisation at the end, in arrival order.
    """
    begin_write(session)
    outcomes: list[CheckInResult | MdmError | MdmDomainError] = []
    by_organisation: dict[str, list[NewFeedEntry]] = {}
    configurations: dict[str, OrgConfiguration] = {}
    for arrival in arrivals:
        try:
            taken, entries = _take_sample(session, arrival, now, cache, configurations)
        except (MdmError, MdmDomainError) as refused:
            outcomes.append(refused)
            continue
        outcomes.append(taken.outcome)
        by_organisation.setdefault(taken.organisation_id, []).extend(entries)
    for organisation_id in sorted(by_organisation):
        feed.append(session, organisation_id, by_organisation[organisation_id], now)
    return outcomes


@dataclass(frozen=True)
class _Taken:
    organisation_id: str
    outcome: CheckInResult


def _take_sample(
    session: Session,
    arrival: Arrival,
    now: dt.datetime,
    cache: ConfigurationCache,
    configurations: dict[str, OrgConfiguration],
) -> tuple[_Taken, list[NewFeedEntry]]:
    """One check-in inside a write transaction, feed entries excepted; raises before writing if refused.

    The hot path of the MDM: the device is read and written with Core statements, and only the
    columns whose value changed are written. ``configurations`` holds what this transaction already
    read of each organisation's configuration: it is read once per organisation and transaction,
    after the first of its devices is locked. That is enough: a configuration change reschedules
    every enrolled device of its organisation in its own transaction (``configuration_changed``), so
    it cannot commit while this one holds one of them (on SQLite the write lock excludes it anyway).
    """
    device_id = arrival.device_id
    connection = session.connection()
    if arrival.credential_hash is not None:
        found = connection.execute(_LOCK_DEVICE_BY_CREDENTIAL, {"credential_hash": arrival.credential_hash}).first()
        # The same refusals, in the same order, as authenticating first (credentials.device_principal).
        principal = credentials.device_principal(
            None if found is None else (found.id, found.organisation_id, found.enrollment_status)
        )
        if principal.device_id != device_id:
            raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    else:
        if device_id != arrival.principal_device_id:
            raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
        found = connection.execute(_LOCK_DEVICE_FACTS, {"device_id": device_id}).first()
    if found is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    facts = DeviceFacts.of(found)
    if facts.enrollment_status != EnrollmentStatus.ENROLLED.value:
        raise Forbidden(f"the device is {facts.enrollment_status}; enrol it again", code="deviceNotEnrolled")
    sample = PostureSample.from_dict(arrival.body, Platform(facts.platform))
    cursor = SampleCursor.from_dict(facts.sample_cursor) if facts.sample_cursor else None
    acceptance = accept_sample(sample, cursor, now)
    configuration = configurations.get(facts.organisation_id)
    if configuration is None:
        configuration = configurations[facts.organisation_id] = cache.get(session, facts.organisation_id)
    seen: dict[str, Any] = {"last_seen_at": now}
    if acceptance.accepted:
        seen["sample_cursor"] = dict(acceptance.cursor.to_dict())
        seen["latest_sample"] = dict(sample.to_dict())
        if sample.os_version is not None:
            seen["os_version"] = sample.os_version.text
    facts = replace(facts, **seen)
    verdict = judge(session, facts, configuration, now, sample=sample if acceptance.accepted else None)
    connection.execute(_UPDATE_DEVICE, {"device_id_": device_id, **seen, **_changed(facts, verdict.changes)})
    session.add_all(verdict.records)
    evaluation = verdict.evaluation
    outcome = CheckInResult(
        device_id,
        evaluation.state.value,
        evaluation.is_compliant,
        acceptance.accepted,
        acceptance.disposition.value,
        acceptance.reason,
        evaluation,
        verdict.changes["evaluation"],
    )
    return _Taken(facts.organisation_id, outcome), verdict.entries


_DEVICES = cast(Table, DeviceRow.__table__)
_LOCK_DEVICE_FACTS = (
    select(*(_DEVICES.c[name] for name in DEVICE_FACT_COLUMNS))
    .where(_DEVICES.c.id == bindparam("device_id"))
    .with_for_update()
)
_LOCK_DEVICE_BY_CREDENTIAL = (
    select(*(_DEVICES.c[name] for name in DEVICE_FACT_COLUMNS))
    .where(_DEVICES.c.credential_hash == bindparam("credential_hash"))
    .with_for_update()
)

_UPDATE_DEVICE = update(_DEVICES).where(_DEVICES.c.id == bindparam("device_id_"))
"""The columns to set are the execution's parameters: only the changed ones are written."""


def _changed(facts: DeviceFacts, changes: dict[str, Any]) -> dict[str, Any]:
    """The verdict's columns whose value differs from the stored one (the others are not rewritten)."""
    return {name: value for name, value in changes.items() if getattr(facts, name, _UNKNOWN) != value}


_UNKNOWN = object()


def lock_device(session: Session, device_id: str, organisation_id: str | None = None) -> DeviceRow | None:
    statement = select(DeviceRow).where(DeviceRow.id == device_id).with_for_update()
    if organisation_id is not None:
        statement = statement.where(DeviceRow.organisation_id == organisation_id)
    return session.scalars(statement.execution_options(populate_existing=True)).one_or_none()


def reevaluate(
    session: Session, organisation_id: str, device_id: str, now: dt.datetime, cache: ConfigurationCache
) -> tuple[DeviceRow, ComplianceEvaluation]:
    """The administrator's "re-evaluate compliance" button."""
    begin_write(session)
    row = lock_device(session, device_id, organisation_id)
    if row is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    evaluation, entries = evaluate_row(session, row, cache.get(session, organisation_id), now)
    feed.append(session, organisation_id, entries, now)
    return row, evaluation


def sweep(session: Session, now: dt.datetime, cache: ConfigurationCache, batch: int = SWEEP_BATCH) -> int:
    """Re-evaluate up to ``batch`` devices whose next evaluation is due; how many were evaluated."""
    begin_write(session)
    rows: Sequence[DeviceRow] = session.scalars(
        select(DeviceRow)
        .where(
            DeviceRow.next_evaluation_at <= now,
            DeviceRow.enrollment_status == EnrollmentStatus.ENROLLED.value,
        )
        .order_by(DeviceRow.next_evaluation_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    by_organisation: dict[str, list[NewFeedEntry]] = {}
    for row in rows:
        _, entries = evaluate_row(session, row, cache.get(session, row.organisation_id), now)
        by_organisation.setdefault(row.organisation_id, []).extend(entries)
    for organisation_id in sorted(by_organisation):
        feed.append(session, organisation_id, by_organisation[organisation_id], now)
    return len(rows)
