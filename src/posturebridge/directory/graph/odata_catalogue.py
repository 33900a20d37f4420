"""What Graph lets a client filter, sort, select and search on, per resource, and where each property lives.

Two layers, so that Graph's documented rules stay apart from our storage:

- ``ResourceSpec``/``PropertySpec``: Graph facts only (type, the ``$filter`` operators a property supports
  and whether they need advanced query parameters, ``$orderby`` support, ``$select``, ``$search``).
  Sources: learn.microsoft.com/graph/aad-advanced-queries (concepts/aad-advanced-queries.md and
  includes/filter-directory-objects.md in microsoftgraph/microsoft-graph-docs-contrib), the resource
  pages (device, user, group, servicePrincipal, application, directoryAudit, signIn) as summarised in
  docs graph-facts.md §1, §4, §5.
- ``ResourceCatalogue``: a spec bound to SQLAlchemy expressions by the store that owns the tables
  (``ResourceCatalogue.bind``). A collection is bound either to a JSON array column (``JsonArray``) or
  to a child table correlated to the parent row (``ChildRows``); both compile to an EXISTS.

Graph's rules for directory objects, applied by ``directory_property`` so each entry lists only what the
docs list: ``ne`` and ``not`` need advanced queries and exist wherever ``eq`` does; ``in`` works by
default wherever ``eq`` does; ``endsWith`` and ``/$count`` need advanced queries; comparing with
``null`` needs advanced queries (the "null values" column of the directory-objects table).

``check_filter`` validates a parsed filter against a catalogue and raises Graph's errors. This module
never runs SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import cached_property
from typing import Any, Final

from sqlalchemy import ColumnElement, FromClause

from posturebridge.directory.graph.errors import GraphError, bad_request, unsupported_query
from posturebridge.directory.graph.odata_filter import (
    And,
    AnyOf,
    Call,
    CmpOp,
    Compare,
    CountOf,
    FuncName,
    In,
    LambdaMember,
    Literal,
    LiteralKind,
    Member,
    Node,
    Not,
    Operand,
    Or,
)


class Edm(StrEnum):
    STRING = "Edm.String"
    GUID = "Edm.Guid"
    BOOLEAN = "Edm.Boolean"
    INT32 = "Edm.Int32"
    INT64 = "Edm.Int64"
    DOUBLE = "Edm.Double"
    DATETIME = "Edm.DateTimeOffset"
    COMPLEX = "Edm.ComplexType"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    NOT = "not"
    IN = "in"
    GE = "ge"
    LE = "le"
    GT = "gt"
    LT = "lt"
    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"
    NULL = "null"
    COUNT = "$count"


class Mode(Enum):
    DEFAULT = "default"
    ADVANCED = "advanced"


class SearchMode(Enum):
    TOKENS = "tokens"  # displayName, description: tokenized word match
    STARTS_WITH = "startsWith"  # any other string property: startsWith behaviour


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One Graph property and the query options Graph supports on it."""

    name: str
    type: Edm
    filter: Mapping[Op, Mode] = field(default_factory=dict)
    collection: bool = False
    members: Mapping[str, Edm] = field(default_factory=dict)  # element members of a complex collection
    orderby: Mode | None = None
    selectable: bool = True
    search: SearchMode | None = None

    def filterable(self) -> bool:
        return bool(self.filter)


@dataclass(frozen=True)
class ResourceSpec:
    """A Graph entity set: its name in errors (``Device``), its type, its properties and paging sizes."""

    name: str
    entity_type: str
    properties: tuple[PropertySpec, ...]
    directory_object: bool = True
    default_top: int = 100
    max_top: int = 999
    default_orderby: tuple[str, bool] | None = None  # (property, descending)

    @cached_property
    def _by_name(self) -> dict[str, PropertySpec]:
        return {p.name.lower(): p for p in self.properties}

    def property(self, name: str) -> PropertySpec | None:
        """The property named ``name``; Graph matches property names case-insensitively."""
        return self._by_name.get(name.lower())


def _ops(words: str) -> list[Op]:
    return [Op(w) for w in words.split()]


def directory_property(
    name: str,
    type_: Edm,
    default: str = "",
    advanced: str = "",
    *,
    collection: bool = False,
    members: Mapping[str, Edm] | None = None,
    orderby: Mode | None = None,
    selectable: bool = True,
    search: SearchMode | None = None,
) -> PropertySpec:
    """A directory-object property, with Graph's blanket rules for advanced queries applied."""
    modes: dict[Op, Mode] = {}
    for op in _ops(advanced):
        modes[op] = Mode.ADVANCED
    for op in _ops(default):
        modes[op] = Mode.DEFAULT
    if Op.EQ in modes:
        # "All properties that support the eq operator also support the ne or not operators."
        modes.setdefault(Op.NOT, Mode.ADVANCED)
        if not collection:
            modes.setdefault(Op.NE, Mode.ADVANCED)
        # "The in operator is supported by default whenever eq operator is supported by default."
        if modes[Op.EQ] is Mode.DEFAULT and not collection:
            modes.setdefault(Op.IN, Mode.DEFAULT)
    for always_advanced in (Op.NE, Op.NOT, Op.ENDS_WITH, Op.COUNT, Op.NULL):
        if always_advanced in modes:
            modes[always_advanced] = Mode.ADVANCED
    return PropertySpec(
        name,
        type_,
        modes,
        collection=collection,
        members=dict(members or {}),
        orderby=orderby,
        selectable=selectable,
        search=search,
    )


def log_property(
    name: str,
    type_: Edm,
    ops: str = "",
    *,
    collection: bool = False,
    members: Mapping[str, Edm] | None = None,
    orderby: bool = False,
) -> PropertySpec:
    """A property of an audit-log resource: no advanced-query rules, every listed operator works."""
    return PropertySpec(
        name,
        type_,
        {op: Mode.DEFAULT for op in _ops(ops)},
        collection=collection,
        members=dict(members or {}),
        orderby=Mode.DEFAULT if orderby else None,
    )


S, G, B, I32, DT = Edm.STRING, Edm.GUID, Edm.BOOLEAN, Edm.INT32, Edm.DATETIME
_dp = directory_property
_STRING_FULL: Final = "eq ge le startsWith"

# graph-facts.md §1 (learn.microsoft.com/graph/api/resources/device); $orderby from aad-advanced-queries.
DEVICE: Final = ResourceSpec(
    "Device",
    "microsoft.graph.device",
    (
        _dp("id", S, "eq"),
        _dp("accountEnabled", B, "eq"),
        _dp(
            "alternativeSecurityIds",
            Edm.COMPLEX,
            "eq ge le",
            collection=True,
            members={"type": I32, "identityProvider": S, "key": S},
        ),
        _dp("approximateLastSignInDateTime", DT, "eq ge le", "null", orderby=Mode.ADVANCED),
        _dp("complianceExpirationDateTime", DT),
        _dp("createdDateTime", DT, orderby=Mode.ADVANCED),
        _dp("deletedDateTime", DT, orderby=Mode.ADVANCED),
        _dp("deviceCategory", S),
        _dp("deviceId", S, "eq"),
        _dp("deviceMetadata", S),
        _dp("deviceOwnership", S),
        _dp("deviceVersion", I32),
        _dp(
            "displayName",
            S,
            "eq ge le startsWith",
            "null",
            orderby=Mode.ADVANCED,
            search=SearchMode.TOKENS,
        ),
        _dp("enrollmentProfileName", S),
        _dp("enrollmentType", S),
        _dp("extensionAttributes", Edm.COMPLEX),
        *(
            _dp(f"extensionAttributes/extensionAttribute{n}", S, "", "eq startsWith null", selectable=False)
            for n in range(1, 16)
        ),
        _dp("isCompliant", B, "eq"),
        _dp("isManaged", B, "eq"),
        _dp("isManagementRestricted", B),
        _dp("isRooted", B),
        _dp("managementType", S),
        _dp("manufacturer", S),
        _dp("mdmAppId", S, "eq startsWith"),
        _dp("model", S),
        _dp("onPremisesLastSyncDateTime", DT),
        _dp("onPremisesSecurityIdentifier", S),
        _dp("onPremisesSyncEnabled", B, "eq", "null"),
        _dp("operatingSystem", S, _STRING_FULL, "null", search=SearchMode.STARTS_WITH),
        _dp("operatingSystemVersion", S, _STRING_FULL, "null"),
        _dp("physicalIds", S, _STRING_FULL, "$count", collection=True),
        _dp("profileType", S),
        _dp("registrationDateTime", DT),
        _dp("systemLabels", S, "", "$count", collection=True),
        _dp("trustType", S, "eq"),
    ),
)

# includes/filter-directory-objects.md (user rows) and the $orderby table of aad-advanced-queries.
USER: Final = ResourceSpec(
    "User",
    "microsoft.graph.user",
    (
        _dp("id", S, "eq"),
        _dp("accountEnabled", B, "eq"),
        _dp(
            "assignedLicenses",
            Edm.COMPLEX,
            "eq",
            "$count",
            collection=True,
            members={"skuId": G},
        ),
        _dp("businessPhones", S, "eq", collection=True),
        _dp("city", S, "eq ge startsWith", "null"),
        _dp("companyName", S, "", "eq ge le in startsWith null"),
        _dp("country", S, _STRING_FULL, "null"),
        _dp("createdDateTime", DT, "eq ge le", "in", orderby=Mode.ADVANCED),
        _dp("deletedDateTime", DT, "eq ge le", "in", orderby=Mode.ADVANCED),
        _dp("department", S, _STRING_FULL, "null"),
        _dp("displayName", S, "eq startsWith", "null", orderby=Mode.DEFAULT, search=SearchMode.TOKENS),
        _dp("employeeId", S, "eq startsWith", "le null"),
        _dp("givenName", S, _STRING_FULL, "null", search=SearchMode.STARTS_WITH),
        _dp("jobTitle", S, "eq ge le", "null", search=SearchMode.STARTS_WITH),
        _dp("mail", S, _STRING_FULL, "endsWith", search=SearchMode.STARTS_WITH),
        _dp("mailNickname", S, _STRING_FULL, "null"),
        _dp("mobilePhone", S, "", "eq ge le in startsWith null"),
        _dp("officeLocation", S, "", "eq ge le in startsWith null"),
        _dp("onPremisesSyncEnabled", B, "eq", "ge le"),
        _dp("otherMails", S, _STRING_FULL, "endsWith", collection=True),
        _dp("proxyAddresses", S, _STRING_FULL, "endsWith null", collection=True),
        _dp("surname", S, _STRING_FULL, "null", search=SearchMode.STARTS_WITH),
        _dp("usageLocation", S, _STRING_FULL),
        _dp("userPrincipalName", S, "eq le startsWith", "endsWith", orderby=Mode.DEFAULT),
        _dp("userType", S, "eq", "null"),
    ),
)

# learn.microsoft.com/graph/api/resources/group; createdDateTime is the docs' own example of a
# property Graph refuses to filter on even in advanced mode.
GROUP: Final = ResourceSpec(
    "Group",
    "microsoft.graph.group",
    (
        _dp("id", S, "eq"),
        _dp("createdDateTime", DT),
        _dp("deletedDateTime", DT, orderby=Mode.ADVANCED),
        _dp("description", S, _STRING_FULL, search=SearchMode.TOKENS),
        _dp("displayName", S, "eq startsWith", "null", orderby=Mode.DEFAULT, search=SearchMode.TOKENS),
        _dp("groupTypes", S, "eq", collection=True),
        _dp("isAssignableToRole", B, "eq"),
        _dp("mail", S, _STRING_FULL, search=SearchMode.STARTS_WITH),
        _dp("mailEnabled", B, "eq"),
        _dp("mailNickname", S, _STRING_FULL),
        _dp("membershipRule", S, "eq startsWith"),
        _dp("onPremisesSyncEnabled", B, "eq", "null"),
        _dp("proxyAddresses", S, _STRING_FULL, "endsWith", collection=True),
        _dp("securityEnabled", B, "eq"),
        _dp("visibility", S),
    ),
)

SERVICE_PRINCIPAL: Final = ResourceSpec(
    "ServicePrincipal",
    "microsoft.graph.servicePrincipal",
    (
        _dp("id", S, "eq"),
        _dp("accountEnabled", B, "eq"),
        _dp("appDisplayName", S, "eq ge le startsWith", "null"),
        _dp("appId", S, "eq"),
        _dp("appOwnerOrganizationId", S, "eq"),
        _dp("appRoleAssignmentRequired", B, "eq"),
        _dp("createdDateTime", DT, orderby=Mode.ADVANCED),
        _dp("deletedDateTime", DT, orderby=Mode.ADVANCED),
        _dp("description", S, "", "", search=SearchMode.TOKENS),
        _dp(
            "displayName",
            S,
            "eq ge le startsWith",
            "null",
            orderby=Mode.ADVANCED,
            search=SearchMode.TOKENS,
        ),
        _dp("servicePrincipalNames", S, "eq ge le startsWith", collection=True),
        _dp("servicePrincipalType", S, "eq"),
        _dp("tags", S, "eq ge le startsWith", collection=True),
    ),
)

APPLICATION: Final = ResourceSpec(
    "Application",
    "microsoft.graph.application",
    (
        _dp("id", S, "eq"),
        _dp("appId", S, "eq"),
        _dp("createdDateTime", DT, "eq ge le", "in null", orderby=Mode.ADVANCED),
        _dp("deletedDateTime", DT, orderby=Mode.ADVANCED),
        _dp("description", S, "eq ge le startsWith", search=SearchMode.TOKENS),
        _dp(
            "displayName",
            S,
            "eq ge le startsWith",
            "null",
            orderby=Mode.ADVANCED,
            search=SearchMode.TOKENS,
        ),
        _dp("identifierUris", S, "eq ge le startsWith", collection=True),
        _dp("publisherDomain", S, "eq ge le startsWith"),
        _dp("signInAudience", S, "eq"),
        _dp("tags", S, "eq ge le startsWith", collection=True),
    ),
)

_lp = log_property

# graph-facts.md §5 (learn.microsoft.com/graph/api/directoryaudit-list): most recent first.
DIRECTORY_AUDIT: Final = ResourceSpec(
    "DirectoryAudit",
    "microsoft.graph.directoryAudit",
    (
        _lp("id", S, "eq"),
        _lp("activityDateTime", DT, "eq ge le", orderby=True),
        _lp("activityDisplayName", S, "eq startsWith"),
        _lp("category", S, "eq"),
        _lp("correlationId", S, "eq"),
        _lp("loggedByService", S, "eq"),
        _lp("operationType", S, "eq"),
        _lp("result", S, "eq"),
        _lp("resultReason", S),
        _lp("initiatedBy/user/id", S, "eq"),
        _lp("initiatedBy/user/displayName", S, "eq"),
        _lp("initiatedBy/user/userPrincipalName", S, "eq startsWith"),
        _lp("initiatedBy/app/appId", S, "eq"),
        _lp("initiatedBy/app/displayName", S, "eq"),
        _lp("initiatedBy", Edm.COMPLEX),
        _lp("additionalDetails", Edm.COMPLEX, collection=True),
        _lp(
            "targetResources",
            Edm.COMPLEX,
            "eq startsWith",
            collection=True,
            members={"id": S, "displayName": S, "type": S, "userPrincipalName": S},
        ),
    ),
    directory_object=False,
    default_top=1000,
    max_top=1000,
    default_orderby=("activityDateTime", True),
)

# graph-facts.md §4 (learn.microsoft.com/graph/api/signin-list): default and max page size 1,000,
# most recent first; signInEventTypes/any(t: t eq '...') is the beta filter form.
SIGN_IN: Final = ResourceSpec(
    "SignIn",
    "microsoft.graph.signIn",
    (
        _lp("id", S, "eq"),
        _lp("createdDateTime", DT, "eq ge le", orderby=True),
        _lp("userId", S, "eq"),
        _lp("userDisplayName", S, "eq startsWith"),
        _lp("userPrincipalName", S, "eq startsWith"),
        _lp("appId", S, "eq"),
        _lp("appDisplayName", S, "eq startsWith"),
        _lp("ipAddress", S, "eq startsWith"),
        _lp("clientAppUsed", S, "eq"),
        _lp("correlationId", S, "eq"),
        _lp("conditionalAccessStatus", S, "eq"),
        _lp("isInteractive", B, "eq"),
        _lp("resourceDisplayName", S, "eq"),
        _lp("resourceId", S, "eq"),
        _lp("status/errorCode", I32, "eq"),
        _lp("location/city", S, "eq startsWith"),
        _lp("location/countryOrRegion", S, "eq startsWith"),
        _lp("deviceDetail/deviceId", S, "eq"),
        _lp("deviceDetail/isCompliant", B, "eq"),
        _lp("deviceDetail/isManaged", B, "eq"),
        _lp("status", Edm.COMPLEX),
        _lp("location", Edm.COMPLEX),
        _lp("deviceDetail", Edm.COMPLEX),
        _lp("appliedConditionalAccessPolicies", Edm.COMPLEX, collection=True),
        _lp("signInEventTypes", S, "eq", collection=True),
    ),
    directory_object=False,
    default_top=1000,
    max_top=1000,
    default_orderby=("createdDateTime", True),
)

RESOURCES: Final[Mapping[str, ResourceSpec]] = {
    "devices": DEVICE,
    "users": USER,
    "groups": GROUP,
    "servicePrincipals": SERVICE_PRINCIPAL,
    "applications": APPLICATION,
    "directoryAudits": DIRECTORY_AUDIT,
    "signIns": SIGN_IN,
}


# --------------------------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class JsonArray:
    """A collection stored as a JSON array in one column of the row (strings, numbers or objects)."""

    column: ColumnElement[Any]


@dataclass(frozen=True, slots=True)
class ChildRows:
    """A collection stored as rows of a child table.

    ``join`` correlates child rows to the parent row (``child.c.device_id == devices.c.id``); ``value``
    is the element column of a primitive collection, ``members`` the columns of a complex one.
    """

    table: FromClause
    join: ColumnElement[bool]
    value: ColumnElement[Any] | None = None
    members: Mapping[str, ColumnElement[Any]] = field(default_factory=dict)


Storage = ColumnElement[Any] | JsonArray | ChildRows


@dataclass(frozen=True)
class ResourceCatalogue:
    """A ResourceSpec bound to where its properties are stored."""

    spec: ResourceSpec
    id_column: ColumnElement[Any]
    storage: Mapping[str, Storage]  # keyed by lower-cased property name
    # Optional pre-tokenized columns for $search (see odata_search.tokens_column_value).
    search_tokens: Mapping[str, ColumnElement[Any]]

    @classmethod
    def bind(
        cls,
        spec: ResourceSpec,
        *,
        id_column: ColumnElement[Any],
        storage: Mapping[str, Storage],
        search_tokens: Mapping[str, ColumnElement[Any]] | None = None,
    ) -> ResourceCatalogue:
        """Bind Graph property names to storage; an unbound property is refused like an unsupported one."""
        bound: dict[str, Storage] = {}
        for name, where in {"id": id_column, **storage}.items():
            prop = spec.property(name)
            if prop is None:
                raise ValueError(f"{spec.name} has no property {name!r}")
            if prop.collection != isinstance(where, JsonArray | ChildRows):
                raise ValueError(
                    f"{spec.name}.{prop.name}: collections bind to JsonArray/ChildRows, scalars to columns"
                )
            bound[prop.name.lower()] = where
        tokens = {k.lower(): v for k, v in (search_tokens or {}).items()}
        return cls(spec, id_column, bound, tokens)

    @property
    def name(self) -> str:
        return self.spec.name

    def property(self, name: str) -> PropertySpec | None:
        return self.spec.property(name)

    def storage_of(self, prop: PropertySpec) -> Storage | None:
        return self.storage.get(prop.name.lower())


# ------------------------------------------------------------------------------------------- checking

ADVANCED_HINT: Final = (
    "Operator '{op}' is not supported because the required parameters might be missing. "
    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)


def unsupported_property(prop: str, resource: str) -> GraphError:
    """Graph's refusal of a clause on a property (learn.microsoft.com/graph/aad-advanced-queries)."""
    return unsupported_query(
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource '{resource}'."
    )


def needs_advanced(op: str) -> GraphError:
    """Graph's refusal of an advanced-only operator without ConsistencyLevel: eventual and $count=true."""
    return unsupported_query(ADVANCED_HINT.format(op=op))


def unknown_property(prop: str, entity_type: str) -> GraphError:
    return bad_request(f"Invalid filter clause: Could not find a property named '{prop}' on type '{entity_type}'.")


_CMP_TO_OP: Final = {
    CmpOp.EQ: Op.EQ,
    CmpOp.NE: Op.NE,
    CmpOp.GE: Op.GE,
    CmpOp.LE: Op.LE,
    CmpOp.GT: Op.GT,
    CmpOp.LT: Op.LT,
}
_OP_KIND: Final = {
    CmpOp.EQ: "Equal",
    CmpOp.NE: "NotEqual",
    CmpOp.GE: "GreaterThanOrEqual",
    CmpOp.LE: "LessThanOrEqual",
    CmpOp.GT: "GreaterThan",
    CmpOp.LT: "LessThan",
}
_LITERAL_EDM: Final = {
    LiteralKind.STRING: "Edm.String",
    LiteralKind.GUID: "Edm.Guid",
    LiteralKind.INT: "Edm.Int32",
    LiteralKind.FLOAT: "Edm.Double",
    LiteralKind.BOOL: "Edm.Boolean",
    LiteralKind.DATETIME: "Edm.DateTimeOffset",
    LiteralKind.NULL: "null",
}
_COMPATIBLE: Final[Mapping[Edm, frozenset[LiteralKind]]] = {
    # Graph takes both 'quoted' and bare GUIDs for id-like properties (assignedLicenses/any(x:x/skuId eq
    # <guid>) and id eq '<guid>' are both documented forms), so strings and GUIDs mix freely.
    Edm.STRING: frozenset({LiteralKind.STRING, LiteralKind.GUID}),
    Edm.GUID: frozenset({LiteralKind.STRING, LiteralKind.GUID}),
    Edm.BOOLEAN: frozenset({LiteralKind.BOOL}),
    Edm.INT32: frozenset({LiteralKind.INT}),
    Edm.INT64: frozenset({LiteralKind.INT}),
    Edm.DOUBLE: frozenset({LiteralKind.INT, LiteralKind.FLOAT}),
    Edm.DATETIME: frozenset({LiteralKind.DATETIME}),
}


@dataclass(frozen=True, slots=True)
class _Scope:
    """The lambda variable in scope: the collection property and its variable name."""

    collection: PropertySpec
    variable: str


@dataclass(frozen=True, slots=True)
class FilterUse:
    """What a checked filter needs: used to decide advanced-query requirements and for diagnostics."""

    advanced_ops: frozenset[str]
    properties: frozenset[str]


class _Checker:
    def __init__(self, catalogue: ResourceCatalogue, advanced: bool) -> None:
        self.cat = catalogue
        self.advanced = advanced
        self.advanced_ops: set[str] = set()
        self.properties: set[str] = set()

    def require(self, prop: PropertySpec, op: Op, shown: str | None = None) -> None:
        mode = prop.filter.get(op)
        if mode is None or self.cat.storage_of(prop) is None:
            raise unsupported_property(prop.name, self.cat.name)
        if mode is Mode.ADVANCED:
            self.advanced_ops.add(op.value)
            if not self.advanced:
                raise needs_advanced(shown or op.value)

    def member(self, m: Member) -> PropertySpec:
        prop = self.cat.property(m.name)
        if prop is None:
            raise unknown_property(m.name, self.cat.spec.entity_type)
        self.properties.add(prop.name)
        return prop

    def literal_type(self, edm: Edm, lit: Literal, kind: str) -> None:
        if lit.kind is LiteralKind.NULL:
            return
        if lit.kind not in _COMPATIBLE.get(edm, frozenset()):
            raise bad_request(
                "Invalid filter clause: A binary operator with incompatible types was detected. "
                f"Found operand types '{edm.value}' and '{_LITERAL_EDM[lit.kind]}' "
                f"for operator kind '{kind}'."
            )

    def operand(self, operand: Operand, scope: _Scope | None) -> tuple[PropertySpec, Edm]:
        """Resolve an operand to the property whose operators apply and the type being compared."""
        if isinstance(operand, Member):
            prop = self.member(operand)
            if prop.collection or prop.type is Edm.COMPLEX:
                raise unsupported_property(prop.name, self.cat.name)
            return prop, prop.type
        if isinstance(operand, LambdaMember):
            if scope is None or operand.variable != scope.variable:  # pragma: no cover - parser guarantees
                raise bad_request(f"Invalid filter clause: '{operand.variable}' is not in scope.")
            coll = scope.collection
            if operand.member is None:
                if coll.type is Edm.COMPLEX:
                    raise unsupported_property(coll.name, self.cat.name)
                return coll, coll.type
            members = {k.lower(): (k, v) for k, v in coll.members.items()}
            found = members.get(operand.member.lower())
            if found is None:
                raise unknown_property(f"{coll.name}/{operand.member}", self.cat.spec.entity_type)
            return coll, found[1]
        raise unsupported_property(operand.collection.name, self.cat.name)  # /$count handled by caller

    def node(self, node: Node, scope: _Scope | None, negated: bool) -> None:
        if isinstance(node, And | Or):
            self.node(node.left, scope, negated)
            self.node(node.right, scope, negated)
        elif isinstance(node, Not):
            self.node(node.operand, scope, True)
        elif isinstance(node, Compare):
            self.compare(node, scope, negated)
        elif isinstance(node, In):
            prop, edm = self.operand(node.left, scope)
            self.require(prop, Op.IN)
            for lit in node.values:
                if lit.kind is LiteralKind.NULL:
                    raise unsupported_property(prop.name, self.cat.name)
                self.literal_type(edm, lit, "In")
            self.negation(prop, negated)
        elif isinstance(node, Call):
            prop, edm = self.operand(node.operand, scope)
            op = Op.STARTS_WITH if node.func is FuncName.STARTS_WITH else Op.ENDS_WITH
            self.require(prop, op)
            if edm not in (Edm.STRING, Edm.GUID) or node.argument.kind is not LiteralKind.STRING:
                raise bad_request(
                    "Invalid filter clause: No function signature for the function with name "
                    f"'{node.func.value}' matches the specified arguments."
                )
            self.negation(prop, negated)
        elif isinstance(node, AnyOf):
            prop = self.member(node.collection)
            if not prop.collection:
                raise unsupported_property(prop.name, self.cat.name)
            if self.cat.storage_of(prop) is None or not (set(prop.filter) - {Op.COUNT, Op.NOT}):
                raise unsupported_property(prop.name, self.cat.name)
            self.negation(prop, negated)
            if node.body is not None and node.variable is not None:
                # Negation inside any() is a per-element not, still an advanced "not".
                self.node(node.body, _Scope(prop, node.variable), False)

    def negation(self, prop: PropertySpec, negated: bool) -> None:
        if negated:
            self.require(prop, Op.NOT)

    def compare(self, node: Compare, scope: _Scope | None, negated: bool) -> None:
        if isinstance(node.left, CountOf):
            prop = self.member(node.left.collection)
            if not prop.collection:
                raise unsupported_property(prop.name, self.cat.name)
            self.require(prop, Op.COUNT)
            if node.op not in (CmpOp.EQ, CmpOp.NE) or node.right.kind is not LiteralKind.INT:
                raise unsupported_property(prop.name, self.cat.name)
            return
        prop, edm = self.operand(node.left, scope)
        if node.right.kind is LiteralKind.NULL:
            if node.op not in (CmpOp.EQ, CmpOp.NE) or isinstance(node.left, LambdaMember):
                raise unsupported_property(prop.name, self.cat.name)
            self.require(prop, Op.NULL, "null")
            if node.op is CmpOp.NE:
                self.require(prop, Op.NE)
        else:
            self.require(prop, _CMP_TO_OP[node.op])
            self.literal_type(edm, node.right, _OP_KIND[node.op])
        self.negation(prop, negated)


def check_filter(node: Node, catalogue: ResourceCatalogue, *, advanced: bool) -> FilterUse:
    """Validate a parsed filter against the resource; raise Graph's 400 on the first unsupported clause."""
    checker = _Checker(catalogue, advanced if catalogue.spec.directory_object else True)
    checker.node(node, None, False)
    return FilterUse(frozenset(checker.advanced_ops), frozenset(checker.properties))
