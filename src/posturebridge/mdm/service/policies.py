"""Compliance policies and smart groups: stored as the domain's own documents, validated by the domain.

Every change bumps the organisation's configuration version and schedules all its devices for
re-evaluation, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import CompliancePolicy, SmartGroup, ValidationError
from posturebridge.mdm.models import CompliancePolicyRow, SmartGroupRow, UserGroup
from posturebridge.mdm.service.compliance import configuration_changed
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.transactions import begin_write


def _document(body: object, identifier: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError.at("", "expected an object")
    given = body.get("id")
    if given is not None and given != identifier:
        raise BadRequest("the id is assigned by the MDM; leave it out", target="id")
    return {**body, "id": identifier}


def _check_group_references(session: Session, organisation_id: str, policy: CompliancePolicy) -> None:
    named = policy.assignment.include_groups | policy.assignment.exclude_groups
    if not named:
        return
    known = set(
        session.scalars(
            select(UserGroup.id).where(UserGroup.organisation_id == organisation_id, UserGroup.id.in_(named))
        )
    ) | set(
        session.scalars(
            select(SmartGroupRow.id).where(
                SmartGroupRow.organisation_id == organisation_id, SmartGroupRow.id.in_(named)
            )
        )
    )
    unknown = sorted(named - known)
    if unknown:
        raise BadRequest(f"no user group or smart group {', '.join(unknown)} in this organisation", target="assignment")


def create_policy(session: Session, organisation_id: str, body: object, now: dt.datetime) -> CompliancePolicyRow:
    policy = CompliancePolicy.from_dict(_document(body, new_id()))
    begin_write(session)
    _check_group_references(session, organisation_id, policy)
    row = CompliancePolicyRow(
        id=policy.id,
        organisation_id=organisation_id,
        display_name=policy.display_name,
        platform=policy.platform.value,
        document=dict(policy.to_dict()),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    configuration_changed(session, organisation_id, now)
    return row


def replace_policy(
    session: Session, organisation_id: str, policy_id: str, body: object, now: dt.datetime
) -> CompliancePolicyRow:
    policy = CompliancePolicy.from_dict(_document(body, policy_id))
    begin_write(session)
    row = get_policy(session, organisation_id, policy_id)
    _check_group_references(session, organisation_id, policy)
    row.display_name = policy.display_name
    row.platform = policy.platform.value
    row.document = dict(policy.to_dict())
    row.updated_at = now
    session.flush()
    configuration_changed(session, organisation_id, now)
    return row


def delete_policy(session: Session, organisation_id: str, policy_id: str, now: dt.datetime) -> None:
    begin_write(session)
    session.delete(get_policy(session, organisation_id, policy_id))
    session.flush()
    configuration_changed(session, organisation_id, now)


def get_policy(session: Session, organisation_id: str, policy_id: str) -> CompliancePolicyRow:
    row = session.scalar(
        select(CompliancePolicyRow).where(
            CompliancePolicyRow.id == policy_id, CompliancePolicyRow.organisation_id == organisation_id
        )
    )
    if row is None:
        raise NotFound(f"compliance policy {policy_id} not found", target="policyId", code="policyNotFound")
    return row


def list_policies(session: Session, organisation_id: str) -> list[CompliancePolicyRow]:
    return list(
        session.scalars(
            select(CompliancePolicyRow)
            .where(CompliancePolicyRow.organisation_id == organisation_id)
            .order_by(CompliancePolicyRow.created_at, CompliancePolicyRow.id)
        )
    )


def create_smart_group(session: Session, organisation_id: str, body: object, now: dt.datetime) -> SmartGroupRow:
    group = SmartGroup.from_dict(_document(body, new_id()))
    begin_write(session)
    exists = session.scalar(
        select(SmartGroupRow.id).where(
            SmartGroupRow.organisation_id == organisation_id, SmartGroupRow.name == group.name
        )
    )
    if exists is not None:
        raise Conflict(f"a smart group {group.name!r} already exists", target="name", code="groupExists")
    row = SmartGroupRow(
        id=group.id,
        organisation_id=organisation_id,
        name=group.name,
        definition=dict(group.to_dict()),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    configuration_changed(session, organisation_id, now)
    return row


def list_smart_groups(session: Session, organisation_id: str) -> list[SmartGroupRow]:
    return list(
        session.scalars(
            select(SmartGroupRow).where(SmartGroupRow.organisation_id == organisation_id).order_by(SmartGroupRow.name)
        )
    )


def delete_smart_group(session: Session, organisation_id: str, group_id: str, now: dt.datetime) -> None:
    begin_write(session)
    row = session.scalar(
        select(SmartGroupRow).where(SmartGroupRow.id == group_id, SmartGroupRow.organisation_id == organisation_id)
    )
    if row is None:
        raise NotFound(f"smart group {group_id} not found", target="groupId", code="groupNotFound")
    session.delete(row)
    session.flush()
    configuration_changed(session, organisation_id, now)
