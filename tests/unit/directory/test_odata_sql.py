"""Filters, search and paging executed against real databases: SQLite in memory always, and the
PostgreSQL named by POSTUREBRIDGE_TEST_POSTGRES_URL (in a temporary schema) when it is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from posturebridge.directory.graph.errors import GraphError
from posturebridge.directory.graph.odata import (
    DEVICE,
    ChildRows,
    JsonArray,
    ResourceCatalogue,
    apply,
    count_statement,
    next_link,
    paginate,
    parse_query,
    tokens_column_value,
)
from posturebridge.directory.graph.odata_search import search_matches, search_tokens

KEY = b"paging-key"
PG_URL = os.environ.get("POSTUREBRIDGE_TEST_POSTGRES_URL")
T0 = datetime(2024, 1, 1)


@dataclass
class Db:
    engine: sa.Engine
    devices: sa.Table
    physical_ids: sa.Table
    json_catalogue: ResourceCatalogue
    child_catalogue: ResourceCatalogue


def _schema(schema: str | None) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    md = sa.MetaData(schema=schema)
    devices = sa.Table(
        "devices",
        md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(256)),
        sa.Column("display_name_tokens", sa.String(600)),
        sa.Column("operating_system", sa.String(64)),
        sa.Column("trust_type", sa.String(32)),
        sa.Column("is_compliant", sa.Boolean),
        sa.Column("last_sign_in", sa.DateTime),
        sa.Column("ext1", sa.String(64)),
        sa.Column("physical_ids", sa.JSON, nullable=False),
        sa.Column("alt_ids", sa.JSON, nullable=False),
    )
    physical_ids = sa.Table(
        "device_physical_ids",
        md,
        sa.Column("device_id", sa.String(40), sa.ForeignKey(devices.c.id), index=True),
        sa.Column("value", sa.String(128)),
    )
    return md, devices, physical_ids


def _catalogues(devices: sa.Table, physical_ids: sa.Table) -> tuple[ResourceCatalogue, ResourceCatalogue]:
    scalars: dict[str, Any] = {
        "displayName": devices.c.display_name,
        "operatingSystem": devices.c.operating_system,
        "trustType": devices.c.trust_type,
        "isCompliant": devices.c.is_compliant,
        "approximateLastSignInDateTime": devices.c.last_sign_in,
        "extensionAttributes/extensionAttribute1": devices.c.ext1,
        "alternativeSecurityIds": JsonArray(devices.c.alt_ids),
    }
    tokens = {"displayName": devices.c.display_name_tokens}
    as_json = ResourceCatalogue.bind(
        DEVICE,
        id_column=devices.c.id,
        storage={**scalars, "physicalIds": JsonArray(devices.c.physical_ids)},
        search_tokens=tokens,
    )
    as_rows = ResourceCatalogue.bind(
        DEVICE,
        id_column=devices.c.id,
        storage={
            **scalars,
            "physicalIds": ChildRows(physical_ids, physical_ids.c.device_id == devices.c.id, physical_ids.c.value),
        },
        search_tokens=tokens,
    )
    return as_json, as_rows


def _sqlite() -> Iterator[Db]:
    engine = sa.create_engine("sqlite://")
    md, devices, physical_ids = _schema(None)
    md.create_all(engine)
    yield Db(engine, devices, physical_ids, *_catalogues(devices, physical_ids))
    engine.dispose()


def _postgres() -> Iterator[Db]:
    if not PG_URL:
        pytest.skip("POSTUREBRIDGE_TEST_POSTGRES_URL is not set: PostgreSQL runs skipped")
    schema = f"pb_odata_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    md, devices, physical_ids = _schema(schema)
    try:
        md.create_all(engine)
        yield Db(engine, devices, physical_ids, *_catalogues(devices, physical_ids))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    yield from (_sqlite() if request.param == "sqlite" else _postgres())


# ------------------------------------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Device:
    id: str
    display_name: str | None
    operating_system: str | None
    trust_type: str
    is_compliant: bool | None
    last_sign_in: datetime | None
    ext1: str | None
    physical_ids: tuple[str, ...]
    alt_ids: tuple[tuple[int, str], ...]


NAMES = ["alpha", "Alpha Beta", "beta", "ab", "abc", "O'Neil", "x_y%z", "HelloWorld", None]
OSES = ["Windows", "iOS", "Android", "windows", None]
TRUST = ["AzureAd", "Workplace", "ServerAd"]
PHYS = ["[ZTDId]:a1", "[USER-GID]:g", "[GID]:x", "[ZTDId]:b2"]


def sample_devices() -> list[Device]:
    rows = []
    for i in range(36):
        rows.append(
            Device(
                id=f"d{i:03d}",
                display_name=NAMES[i % len(NAMES)],
                operating_system=OSES[(i // 2) % len(OSES)],
                trust_type=TRUST[i % len(TRUST)],
                is_compliant=[True, False, None][(i // 3) % 3],
                last_sign_in=None if i % 7 == 0 else T0 + timedelta(days=i),
                ext1=["BYOD-Device", "corp", None][i % 3],
                physical_ids=tuple(PHYS[j] for j in range(4) if (i >> j) & 1),
                alt_ids=((2, f"k{i % 4}"),) if i % 2 else (),
            )
        )
    return rows


def insert(db: Db, rows: list[Device]) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            db.devices.insert(),
            [
                {
                    "id": d.id,
                    "display_name": d.display_name,
                    "display_name_tokens": tokens_column_value(d.display_name),
                    "operating_system": d.operating_system,
                    "trust_type": d.trust_type,
                    "is_compliant": d.is_compliant,
                    "last_sign_in": d.last_sign_in,
                    "ext1": d.ext1,
                    "physical_ids": list(d.physical_ids),
                    "alt_ids": [{"type": t, "key": k} for t, k in d.alt_ids],
                }
                for d in rows
            ],
        )
        child = [{"device_id": d.id, "value": p} for d in rows for p in d.physical_ids]
        if child:
            conn.execute(db.physical_ids.insert(), child)


def run(db: Db, catalogue: ResourceCatalogue, params: dict[str, str]) -> set[str]:
    q = parse_query(
        params | {"$count": "true", "$top": "999"},
        consistency_level="eventual",
        catalogue=catalogue,
        signing_key=KEY,
    )
    with db.engine.connect() as conn:
        rows = conn.execute(apply(sa.select(db.devices.c.id), q)).all()
        count = conn.execute(count_statement(sa.select(db.devices.c.id), q)).scalar_one()
    assert count == len(rows)
    return {r.id for r in rows}


def low(v: str | None) -> str | None:
    return None if v is None else v.lower()


# ------------------------------------------------------------------------------- table-driven filters

Pred = Callable[[Device], bool]
CASES: list[tuple[str, Pred]] = [
    ("displayName eq 'ALPHA'", lambda d: low(d.display_name) == "alpha"),
    ("displayName eq 'O''Neil'", lambda d: d.display_name == "O'Neil"),
    ("displayName ne 'alpha'", lambda d: low(d.display_name) != "alpha"),
    ("displayName eq null", lambda d: d.display_name is None),
    ("displayName ne null", lambda d: d.display_name is not None),
    ("not(displayName eq 'beta')", lambda d: low(d.display_name) != "beta"),
    ("startswith(displayName,'ab')", lambda d: (low(d.display_name) or "\0").startswith("ab")),
    ("startswith(displayName,'x_')", lambda d: (d.display_name or "").startswith("x_")),
    ("startswith(displayName,'x%')", lambda d: False),
    (
        "displayName ge 'b' and displayName le 'h'",
        lambda d: d.display_name is not None and "b" <= d.display_name.lower() <= "h",
    ),
    ("displayName in ('beta', 'ABC')", lambda d: low(d.display_name) in ("beta", "abc")),
    ("isCompliant eq true", lambda d: d.is_compliant is True),
    ("isCompliant ne true", lambda d: d.is_compliant is not True),
    (
        "trustType in ('AzureAd','Workplace') and operatingSystem eq 'windows'",
        lambda d: d.trust_type in ("AzureAd", "Workplace") and low(d.operating_system) == "windows",
    ),
    (
        "approximateLastSignInDateTime ge 2024-01-10T00:00:00Z",
        lambda d: d.last_sign_in is not None and d.last_sign_in >= datetime(2024, 1, 10),
    ),
    ("approximateLastSignInDateTime eq null", lambda d: d.last_sign_in is None),
    ("extensionAttributes/extensionAttribute1 eq 'byod-device'", lambda d: d.ext1 == "BYOD-Device"),
    ("physicalIds/any(p:p eq '[ZTDId]:a1')", lambda d: "[ZTDId]:a1" in d.physical_ids),
    (
        "physicalIds/any(p:startswith(p,'[ZTDId]'))",
        lambda d: any(p.startswith("[ZTDId]") for p in d.physical_ids),
    ),
    ("physicalIds/any(p:p ge '[USER')", lambda d: any(p.lower() >= "[user" for p in d.physical_ids)),
    ("not(physicalIds/any(p:p eq '[GID]:x'))", lambda d: "[GID]:x" not in d.physical_ids),
    ("physicalIds/any()", lambda d: bool(d.physical_ids)),
    ("physicalIds/$count eq 0", lambda d: not d.physical_ids),
    (
        "physicalIds/$count ne 0 and isCompliant eq false",
        lambda d: bool(d.physical_ids) and d.is_compliant is False,
    ),
    ("alternativeSecurityIds/any(a:a/type eq 2 and a/key eq 'k1')", lambda d: (2, "k1") in d.alt_ids),
    ("alternativeSecurityIds/any(a:a/type eq 3)", lambda d: False),
]


# alternativeSecurityIds stays a JSON column in both catalogues, so it runs once.
FILTER_RUNS = [("json", t, p) for t, p in CASES] + [
    ("child_rows", t, p) for t, p in CASES if "alternativeSecurityIds" not in t
]


@pytest.mark.parametrize(("collections", "text", "pred"), FILTER_RUNS, ids=[f"{c}:{t}" for c, t, _ in FILTER_RUNS])
def test_filter_returns_the_rows_the_reference_selects(db: Db, collections: str, text: str, pred: Pred) -> None:
    rows = sample_devices()
    insert(db, rows)
    catalogue = db.json_catalogue if collections == "json" else db.child_catalogue
    assert run(db, catalogue, {"$filter": text}) == {d.id for d in rows if pred(d)}


def test_reference_cases_select_something_and_not_everything() -> None:
    rows = sample_devices()
    informative = [t for t, p in CASES if 0 < sum(map(p, rows)) < len(rows)]
    assert len(informative) >= len(CASES) - 2  # only the two deliberately empty cases select nothing


SEARCHES: list[tuple[str, Pred]] = [
    (
        '"displayName:beta"',
        lambda d: d.display_name is not None and search_matches(search_tokens(d.display_name), "beta"),
    ),
    ('"displayName:world"', lambda d: d.display_name == "HelloWorld"),
    (
        '"displayName:al" AND "operatingSystem:win"',
        lambda d: (low(d.display_name) or "").startswith("al") and (low(d.operating_system) or "").startswith("win"),
    ),
    (
        '"displayName:neil" OR ("displayName:hello" AND "displayName:wor")',
        lambda d: d.display_name in ("O'Neil", "HelloWorld"),
    ),
]


@pytest.mark.parametrize(("text", "pred"), SEARCHES, ids=[s[0] for s in SEARCHES])
def test_search_matches_graph_tokens(db: Db, text: str, pred: Pred) -> None:
    rows = sample_devices()
    insert(db, rows)
    assert run(db, db.json_catalogue, {"$search": text}) == {d.id for d in rows if pred(d)}


def test_search_tokenization_follows_the_documented_examples() -> None:
    assert search_tokens("hello world") == ["hello", "world"]
    assert search_tokens("HelloWorld") == ["hello", "world"]
    assert search_tokens("helloWORLD") == ["hello", "world"]
    assert search_tokens("HELLOworld") == ["helloworld"]
    assert search_tokens("HelloWORld") == ["hello", "world"]
    assert search_tokens("hello.world") == ["hello", ".", "world", "helloworld"]
    assert search_tokens("hello123world") == ["hello", "123", "world"]
    assert search_matches(search_tokens("李四(David Li)"), "Li 李四")


# --------------------------------------------------------------------------------------------- paging


def page_through(db: Db, params: dict[str, str], header: str | None = "eventual") -> list[str]:
    url = "https://graph.microsoft.com/v1.0/devices"
    seen: list[str] = []
    current = dict(params)
    with db.engine.connect() as conn:
        for _ in range(10_000):
            q = parse_query(current, consistency_level=header, catalogue=db.json_catalogue, signing_key=KEY)
            stmt = apply(sa.select(db.devices.c.id), q)
            # SQLite always renders "LIMIT ? OFFSET ?"; PostgreSQL shows whether an offset was asked for.
            assert "OFFSET" not in str(stmt.compile(dialect=postgresql.dialect())).upper()
            page = paginate(conn.execute(stmt).all(), q, signing_key=KEY)
            assert len(page.rows) <= q.top
            seen.extend(r.id for r in page.rows)
            if page.skiptoken is None:
                return seen
            link = next_link(url, q, page.skiptoken)
            current = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
            assert current["$top"] == params["$top"]
    raise AssertionError("paging did not end")


def many_devices(n: int) -> list[Device]:
    names = ["alpha", "beta", None, "gamma", "Beta"]
    return [
        Device(
            id=f"{uuid.UUID(int=i * 7919 % 10_007)}",
            display_name=names[i % 5] if i % 11 else None,
            operating_system="Windows",
            trust_type=TRUST[i % 3],
            is_compliant=bool(i % 2),
            last_sign_in=None if i % 5 == 0 else T0 + timedelta(minutes=i % 97),
            ext1=None,
            physical_ids=(),
            alt_ids=(),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "999"},
        {"$top": "999", "$orderby": "displayName", "$count": "true"},
        {"$top": "999", "$orderby": "displayName desc", "$count": "true"},
        {"$top": "999", "$orderby": "approximateLastSignInDateTime desc", "$count": "true"},
        {"$top": "999", "$filter": "isCompliant eq true"},
    ],
    ids=["id-order", "displayName-asc", "displayName-desc", "lastSignIn-desc", "filtered"],
)
def test_paging_5000_rows_with_top_999_has_no_duplicates_or_gaps(db: Db, params: dict[str, str]) -> None:
    rows = many_devices(5_000)
    insert(db, rows)
    seen = page_through(db, params)
    expected = {d.id for d in rows if "$filter" not in params or d.is_compliant}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    if "$orderby" in params:
        # The pages come out in the requested order: nulls after values ascending, before descending.
        by_id = {d.id: d for d in rows}
        attr = "display_name" if "displayName" in params["$orderby"] else "last_sign_in"
        keys = [getattr(by_id[i], attr) for i in seen]
        desc = params["$orderby"].endswith("desc")
        nulls = [k is None for k in keys]
        assert nulls == sorted(nulls, reverse=desc)
        values = [k for k in keys if k is not None]
        with db.engine.connect() as conn:  # the database's own collation decides string order
            ordered = [
                r[0]
                for r in conn.execute(
                    sa.select(getattr(db.devices.c, attr))
                    .where(getattr(db.devices.c, attr).is_not(None))
                    .order_by(getattr(db.devices.c, attr).desc() if desc else getattr(db.devices.c, attr))
                )
            ]
        assert values == ordered


def test_count_is_on_the_first_page_only(db: Db) -> None:
    insert(db, many_devices(250))
    params = {"$count": "true", "$top": "100"}
    first = parse_query(params, consistency_level="eventual", catalogue=db.json_catalogue, signing_key=KEY)
    assert first.include_count
    with db.engine.connect() as conn:
        page = paginate(conn.execute(apply(sa.select(db.devices.c.id), first)).all(), first, signing_key=KEY)
        assert conn.execute(count_statement(sa.select(db.devices.c.id), first)).scalar_one() == 250
    assert page.skiptoken is not None
    second = parse_query(
        params | {"$skiptoken": page.skiptoken},
        consistency_level="eventual",
        catalogue=db.json_catalogue,
        signing_key=KEY,
    )
    assert second.cursor is not None and not second.include_count


def test_tampered_skiptoken_is_a_400(db: Db) -> None:
    insert(db, many_devices(30))
    q = parse_query({"$top": "10"}, consistency_level=None, catalogue=db.json_catalogue, signing_key=KEY)
    with db.engine.connect() as conn:
        page = paginate(conn.execute(apply(sa.select(db.devices.c.id), q)).all(), q, signing_key=KEY)
    assert page.skiptoken is not None
    payload, mac = page.skiptoken.split(".")
    forged_payload = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    for token in (f"{forged_payload}.{mac}", f"{payload}.{mac[::-1]}", payload):
        with pytest.raises(GraphError) as caught:
            parse_query(
                {"$top": "10", "$skiptoken": token},
                consistency_level=None,
                catalogue=db.json_catalogue,
                signing_key=KEY,
            )
        assert (caught.value.status_code, caught.value.message) == (400, "Invalid Skip Token")


# ------------------------------------------------------------------------------ property-based (SQLite)

WORDS = ["a", "ab", "b", "Ab", "ba", "abc"]
PHYS_VALUES = ["p1", "p2", "q1"]


@dataclass(frozen=True)
class Row:
    id: str
    name: str | None
    os: str | None
    compliant: bool | None
    phys: tuple[str, ...]


ROWS = [
    Row(
        f"r{i:02d}",
        ([*WORDS, None])[i % 7],
        ([*WORDS[::-1], None])[(i // 2) % 7],
        [True, False, None][i % 3],
        tuple(p for j, p in enumerate(PHYS_VALUES) if (i >> j) & 1),
    )
    for i in range(24)
]


def _s(v: str | None) -> str | None:
    return None if v is None else v.lower()


def leaf() -> st.SearchStrategy[tuple[str, Callable[[Row], bool]]]:
    word = st.sampled_from(WORDS)
    prop = st.sampled_from([("displayName", "name"), ("operatingSystem", "os")])

    def cmp(args: tuple[tuple[str, str], str, str]) -> tuple[str, Callable[[Row], bool]]:
        (gname, attr), op, w = args
        lw = w.lower()
        fns: dict[str, Callable[[str | None], bool]] = {
            "eq": lambda v: v is not None and v.lower() == lw,
            "ne": lambda v: v is None or v.lower() != lw,
            "ge": lambda v: v is not None and v.lower() >= lw,
            "le": lambda v: v is not None and v.lower() <= lw,
        }
        return f"{gname} {op} '{w}'", lambda r: fns[op](getattr(r, attr))

    def starts(args: tuple[tuple[str, str], str]) -> tuple[str, Callable[[Row], bool]]:
        (gname, attr), w = args
        return f"startswith({gname},'{w}')", lambda r: (_s(getattr(r, attr)) or "\0").startswith(w.lower())

    def in_(args: tuple[str, list[str]]) -> tuple[str, Callable[[Row], bool]]:
        _, ws = args
        listed = ", ".join(f"'{w}'" for w in ws)
        lows = {w.lower() for w in ws}
        return f"displayName in ({listed})", lambda r: _s(r.name) in lows

    def null(args: tuple[str, str]) -> tuple[str, Callable[[Row], bool]]:
        gname_attr, op = args
        gname, attr = gname_attr.split(":")
        if op == "eq":
            return f"{gname} eq null", lambda r: getattr(r, attr) is None
        return f"{gname} ne null", lambda r: getattr(r, attr) is not None

    def boolean(args: tuple[str, bool]) -> tuple[str, Callable[[Row], bool]]:
        op, b = args
        if op == "eq":
            return f"isCompliant eq {str(b).lower()}", lambda r: r.compliant is b
        return f"isCompliant ne {str(b).lower()}", lambda r: r.compliant is not b

    def any_(args: tuple[str, str]) -> tuple[str, Callable[[Row], bool]]:
        kind, p = args
        if kind == "eq":
            return f"physicalIds/any(x:x eq '{p}')", lambda r: p in r.phys
        return f"physicalIds/any(x:startswith(x,'{p[0]}'))", lambda r: any(v.startswith(p[0]) for v in r.phys)

    def count(args: str) -> tuple[str, Callable[[Row], bool]]:
        return f"physicalIds/$count {args} 0", (lambda r: not r.phys) if args == "eq" else (lambda r: bool(r.phys))

    return st.one_of(
        st.tuples(prop, st.sampled_from(["eq", "ne", "ge", "le"]), word).map(cmp),
        st.tuples(prop, word).map(starts),
        st.tuples(st.just("in"), st.lists(word, min_size=1, max_size=3)).map(in_),
        st.tuples(st.sampled_from(["displayName:name", "operatingSystem:os"]), st.sampled_from(["eq", "ne"])).map(null),
        st.tuples(st.sampled_from(["eq", "ne"]), st.booleans()).map(boolean),
        st.tuples(st.sampled_from(["eq", "starts"]), st.sampled_from(PHYS_VALUES)).map(any_),
        st.sampled_from(["eq", "ne"]).map(count),
    )


def combine(
    children: st.SearchStrategy[tuple[str, Callable[[Row], bool]]],
) -> st.SearchStrategy[tuple[str, Callable[[Row], bool]]]:
    def and_(
        pair: tuple[tuple[str, Callable[[Row], bool]], tuple[str, Callable[[Row], bool]]],
    ) -> tuple[str, Callable[[Row], bool]]:
        (a, fa), (b, fb) = pair
        return f"({a}) and ({b})", lambda r: fa(r) and fb(r)

    def or_(
        pair: tuple[tuple[str, Callable[[Row], bool]], tuple[str, Callable[[Row], bool]]],
    ) -> tuple[str, Callable[[Row], bool]]:
        (a, fa), (b, fb) = pair
        return f"{a} or {b}", lambda r: fa(r) or fb(r)

    def not_(x: tuple[str, Callable[[Row], bool]]) -> tuple[str, Callable[[Row], bool]]:
        a, fa = x
        return f"not ({a})", lambda r: not fa(r)

    return st.one_of(
        st.tuples(children, children).map(and_),
        st.tuples(children, children).map(or_),
        children.map(not_),
    )


FILTERS = st.recursive(leaf(), combine, max_leaves=6)


@pytest.fixture(scope="module")
def small_db() -> Iterator[tuple[sa.Engine, sa.Table, ResourceCatalogue]]:
    engine = sa.create_engine("sqlite://")
    md = sa.MetaData()
    t = sa.Table(
        "devices",
        md,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String),
        sa.Column("os", sa.String),
        sa.Column("compliant", sa.Boolean),
        sa.Column("phys", sa.JSON),
    )
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            t.insert(),
            [{"id": r.id, "name": r.name, "os": r.os, "compliant": r.compliant, "phys": list(r.phys)} for r in ROWS],
        )
    catalogue = ResourceCatalogue.bind(
        DEVICE,
        id_column=t.c.id,
        storage={
            "displayName": t.c.name,
            "operatingSystem": t.c.os,
            "isCompliant": t.c.compliant,
            "physicalIds": JsonArray(t.c.phys),
        },
    )
    yield engine, t, catalogue
    engine.dispose()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FILTERS)
def test_random_filters_agree_with_a_python_reference(
    small_db: tuple[sa.Engine, sa.Table, ResourceCatalogue], case: tuple[str, Callable[[Row], bool]]
) -> None:
    engine, table, catalogue = small_db
    text, pred = case
    q = parse_query(
        {"$filter": text, "$count": "true", "$top": "999"},
        consistency_level="eventual",
        catalogue=catalogue,
        signing_key=KEY,
    )
    with engine.connect() as conn:
        got = {r.id for r in conn.execute(apply(sa.select(table.c.id), q))}
    assert got == {r.id for r in ROWS if pred(r)}, text
