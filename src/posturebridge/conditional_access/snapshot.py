"""A directory snapshot: Graph collections in a JSON object -> user, group, role and app lookups.

The snapshot is ``{"users": [...], "groups": [...], "directoryRoles": [...],
"servicePrincipals": [...], "namedLocations": [...]}``, each item exactly as Graph returns it;
``groups`` and ``directoryRoles`` carry their ``members`` (objects with ``id`` and ``@odata.type``, or
bare ids). It lets the offline what-if and lint resolve what the directory would resolve online:
transitive group membership, active role templates, custom security attributes of the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from posturebridge.conditional_access.model import NamedLocation, ResourceApplication, UserIdentity, fold
from posturebridge.conditional_access.parse import DocumentError, parse_named_location


def _member_ids(raw: Any) -> list[str]:
    ids: list[str] = []
    for member in raw or ():
        if isinstance(member, str):
            ids.append(member)
        elif isinstance(member, Mapping) and isinstance(member.get("id"), str):
            ids.append(member["id"])
    return ids


def flatten_custom_security_attributes(raw: Any) -> dict[str, tuple[str, ...]]:
    """``{"Set": {"Attr": "v", "Multi": ["a"]}}`` -> ``{"Set_Attr": ("v",), "Set_Multi": ("a",)}``."""
    flat: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw, Mapping):
        return flat
    for set_name, attributes in raw.items():
        if not isinstance(attributes, Mapping) or "@" in set_name:
            continue
        for name, value in attributes.items():
            if "@" in name:
                continue
            values = value if isinstance(value, list) else [value]
            flat[f"{set_name}_{name}"] = tuple(str(v) for v in values if v is not None)
    return flat


@dataclass(frozen=True)
class DirectorySnapshot:
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # folded id and UPN -> user
    parents: Mapping[str, frozenset[str]] = field(default_factory=dict)  # member id -> direct groups
    groups: Mapping[str, str] = field(default_factory=dict)  # folded group id -> displayName
    roles: Mapping[str, str] = field(default_factory=dict)  # folded roleTemplateId -> displayName
    role_members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # member -> role templates
    applications: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # folded appId and id -> sp
    named_locations: tuple[NamedLocation, ...] = ()

    @classmethod
    def from_graph(cls, data: Any) -> DirectorySnapshot:
        if not isinstance(data, Mapping):
            raise DocumentError("a directory snapshot must be a JSON object keyed by Graph collection names")
        users: dict[str, Mapping[str, Any]] = {}
        for user in _collection(data, "users"):
            users[fold(str(user.get("id", "")))] = user
            if isinstance(user.get("userPrincipalName"), str):
                users[fold(user["userPrincipalName"])] = user
        parents: dict[str, set[str]] = {}
        groups: dict[str, str] = {}
        for group in _collection(data, "groups"):
            gid = fold(str(group.get("id", "")))
            groups[gid] = str(group.get("displayName") or gid)
            for member in _member_ids(group.get("members")):
                parents.setdefault(fold(member), set()).add(gid)
        roles: dict[str, str] = {}
        role_members: dict[str, set[str]] = {}
        for role in _collection(data, "directoryRoles"):
            template = fold(str(role.get("roleTemplateId") or role.get("id") or ""))
            roles[template] = str(role.get("displayName") or template)
            for member in _member_ids(role.get("members")):
                role_members.setdefault(fold(member), set()).add(template)
        applications: dict[str, Mapping[str, Any]] = {}
        for sp in _collection(data, "servicePrincipals"):
            for key in ("appId", "id"):
                if isinstance(sp.get(key), str):
                    applications[fold(sp[key])] = sp
        locations = tuple(parse_named_location(item) for item in _collection(data, "namedLocations"))
        return cls(
            users=users,
            parents={k: frozenset(v) for k, v in parents.items()},
            groups=groups,
            roles=roles,
            role_members={k: frozenset(v) for k, v in role_members.items()},
            applications=applications,
            named_locations=locations,
        )

    def transitive_groups(self, object_id: str) -> frozenset[str]:
        seen: set[str] = set()
        frontier = [fold(object_id)]
        while frontier:
            current = frontier.pop()
            for parent in self.parents.get(current, ()):
                if parent not in seen:
                    seen.add(parent)
                    frontier.append(parent)
        return frozenset(seen)

    def user(self, id_or_upn: str) -> UserIdentity | None:
        raw = self.users.get(fold(id_or_upn))
        if raw is None:
            return None
        user_id = str(raw.get("id", id_or_upn))
        groups = self.transitive_groups(user_id)
        roles: set[str] = set(self.role_members.get(fold(user_id), ()))
        for group in groups:  # role-assignable groups
            roles.update(self.role_members.get(group, ()))
        upn = raw.get("userPrincipalName") if isinstance(raw.get("userPrincipalName"), str) else None
        user_type = fold(str(raw.get("userType") or "Member"))
        external = (upn is not None and "#ext#" in fold(upn)) or raw.get("externalUserState") is not None
        guest_type: str | None = None
        if user_type == "guest":
            guest_type = "b2bCollaborationGuest" if external else "internalGuest"
        elif external:
            guest_type = "b2bCollaborationMember"
        return UserIdentity(
            id=user_id,
            user_principal_name=upn,
            group_ids=groups,
            role_template_ids=frozenset(roles),
            user_type="guest" if user_type == "guest" else "member",
            guest_or_external_user_type=guest_type,
        )

    def application(self, app_id: str) -> ResourceApplication:
        raw = self.applications.get(fold(app_id))
        if raw is None:
            return ResourceApplication(app_id=app_id)
        return ResourceApplication(
            app_id=str(raw.get("appId") or app_id),
            display_name=raw.get("displayName") if isinstance(raw.get("displayName"), str) else None,
            custom_security_attributes=flatten_custom_security_attributes(raw.get("customSecurityAttributes")),
        )

    def knows(self, kind: str, object_id: str) -> bool:
        """Whether a user, group, role, application or location id exists in the snapshot."""
        key = fold(object_id)
        table: Mapping[str, Any] = {
            "user": self.users,
            "group": self.groups,
            "role": self.roles,
            "application": self.applications,
            "location": {fold(loc.id): loc for loc in self.named_locations},
        }[kind]
        return key in table


def _collection(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    items = data.get(name) or []
    if isinstance(items, Mapping) and isinstance(items.get("value"), list):
        items = items["value"]
    if not isinstance(items, list):
        raise DocumentError(f"snapshot.{name} must be a list of Graph objects")
    return [item for item in items if isinstance(item, Mapping)]
