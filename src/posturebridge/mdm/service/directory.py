"""Users and user groups of an organisation, and the Entra immutable ID picked from a user record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import ImmutableIdMapping, MdmUser, pick_immutable_id
from posturebridge.mdm.models import OrganisationSettings, User, UserGroup, UserGroupMember
from posturebridge.mdm.service.compliance import reschedule
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.transactions import begin_write


@dataclass(frozen=True)
class UserFields:
    user_name: str
    display_name: str | None = None
    user_principal_name: str | None = None
    mail: str | None = None
    object_guid: str | None = None
    custom_attributes: dict[str, str] = field(default_factory=dict)


def create_user(session: Session, organisation_id: str, fields: UserFields, now: dt.datetime) -> User:
    user_name = fields.user_name.strip()
    if not user_name or len(user_name) > 256:
        raise BadRequest("must be 1 to 256 characters", target="userName")
    begin_write(session)
    exists = session.scalar(select(User.id).where(User.organisation_id == organisation_id, User.user_name == user_name))
    if exists is not None:
        raise Conflict(f"a user {user_name!r} already exists", target="userName", code="userExists")
    user = User(
        id=new_id(),
        organisation_id=organisation_id,
        user_name=user_name,
        display_name=(fields.display_name or user_name).strip(),
        user_principal_name=fields.user_principal_name,
        mail=fields.mail,
        object_guid=fields.object_guid,
        custom_attributes=dict(fields.custom_attributes),
        created_at=now,
    )
    session.add(user)
    return user


def get_user(session: Session, organisation_id: str, user_id: str) -> User:
    user = session.scalar(select(User).where(User.id == user_id, User.organisation_id == organisation_id))
    if user is None:
        raise NotFound(f"user {user_id} not found", target="userId", code="userNotFound")
    return user


def list_users(session: Session, organisation_id: str) -> list[User]:
    return list(session.scalars(select(User).where(User.organisation_id == organisation_id).order_by(User.user_name)))


def user_groups_of(session: Session, user_id: str) -> list[str]:
    return sorted(session.scalars(select(UserGroupMember.group_id).where(UserGroupMember.user_id == user_id)))


def immutable_id(session: Session, organisation_id: str, user_id: str) -> tuple[ImmutableIdMapping, str]:
    """The value to send to Entra as ``onPremisesImmutableId``, per the Directory Services mapping."""
    user = get_user(session, organisation_id, user_id)
    settings = session.get(OrganisationSettings, organisation_id)
    mapping_doc = settings.directory_services.get("immutableIdMapping") if settings else None
    mapping = ImmutableIdMapping.from_dict(mapping_doc) if mapping_doc else ImmutableIdMapping()
    record = MdmUser(
        id=user.id,
        user_principal_name=user.user_principal_name,
        mail=user.mail,
        object_guid=user.object_guid,
        custom_attributes=dict(user.custom_attributes),
    )
    return mapping, pick_immutable_id(mapping, record)


def create_user_group(session: Session, organisation_id: str, name: str, now: dt.datetime) -> UserGroup:
    name = name.strip()
    if not name or len(name) > 256:
        raise BadRequest("must be 1 to 256 characters", target="name")
    begin_write(session)
    exists = session.scalar(
        select(UserGroup.id).where(UserGroup.organisation_id == organisation_id, UserGroup.name == name)
    )
    if exists is not None:
        raise Conflict(f"a user group {name!r} already exists", target="name", code="groupExists")
    group = UserGroup(id=new_id(), organisation_id=organisation_id, name=name, created_at=now)
    session.add(group)
    return group


def list_user_groups(session: Session, organisation_id: str) -> list[tuple[UserGroup, list[str]]]:
    groups = list(
        session.scalars(select(UserGroup).where(UserGroup.organisation_id == organisation_id).order_by(UserGroup.name))
    )
    members: dict[str, list[str]] = {group.id: [] for group in groups}
    for group_id, user_id in session.execute(
        select(UserGroupMember.group_id, UserGroupMember.user_id).where(UserGroupMember.group_id.in_(list(members)))
    ):
        members[group_id].append(user_id)
    return [(group, sorted(members[group.id])) for group in groups]


def _group(session: Session, organisation_id: str, group_id: str) -> UserGroup:
    group = session.scalar(
        select(UserGroup).where(UserGroup.id == group_id, UserGroup.organisation_id == organisation_id)
    )
    if group is None:
        raise NotFound(f"user group {group_id} not found", target="groupId", code="groupNotFound")
    return group


def add_member(session: Session, organisation_id: str, group_id: str, user_id: str, now: dt.datetime) -> None:
    """Group membership decides assignments: the user's devices are re-evaluated by the sweep."""
    begin_write(session)
    _group(session, organisation_id, group_id)
    get_user(session, organisation_id, user_id)
    if session.get(UserGroupMember, (group_id, user_id)) is None:
        session.add(UserGroupMember(group_id=group_id, user_id=user_id))
        session.flush()
        reschedule(session, organisation_id, now, user_id=user_id)


def remove_member(session: Session, organisation_id: str, group_id: str, user_id: str, now: dt.datetime) -> None:
    begin_write(session)
    _group(session, organisation_id, group_id)
    session.execute(
        delete(UserGroupMember).where(UserGroupMember.group_id == group_id, UserGroupMember.user_id == user_id)
    )
    reschedule(session, organisation_id, now, user_id=user_id)
