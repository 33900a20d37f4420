"""Query options on directory collections as Graph validates them: advanced queries, unsupported
clauses, $select/$top/$orderby/$count/$search/$skip/$skiptoken (learn.microsoft.com/graph/
aad-advanced-queries, /graph/paging, /graph/search-query-parameter)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from posturebridge.directory.graph.errors import GraphError
from posturebridge.directory.graph.odata import (
    DEVICE,
    GROUP,
    SIGN_IN,
    Cursor,
    JsonArray,
    ResourceCatalogue,
    encode_skiptoken,
    next_link,
    parse_query,
)

KEY = b"test-signing-key"
md = sa.MetaData()
devices = sa.Table(
    "devices",
    md,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("device_id", sa.String),
    sa.Column("display_name", sa.String),
    sa.Column("operating_system", sa.String),
    sa.Column("trust_type", sa.String),
    sa.Column("is_compliant", sa.Boolean),
    sa.Column("mdm_app_id", sa.String),
    sa.Column("last_sign_in", sa.DateTime),
    sa.Column("ext1", sa.String),
    sa.Column("physical_ids", sa.JSON),
    sa.Column("system_labels", sa.JSON),
)
groups = sa.Table(
    "groups",
    md,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("display_name", sa.String),
    sa.Column("created", sa.DateTime),
)
sign_ins = sa.Table("sign_ins", md, sa.Column("id", sa.String, primary_key=True), sa.Column("created", sa.DateTime))

CATALOGUE = ResourceCatalogue.bind(
    DEVICE,
    id_column=devices.c.id,
    storage={
        "deviceId": devices.c.device_id,
        "displayName": devices.c.display_name,
        "operatingSystem": devices.c.operating_system,
        "trustType": devices.c.trust_type,
        "isCompliant": devices.c.is_compliant,
        "mdmAppId": devices.c.mdm_app_id,
        "approximateLastSignInDateTime": devices.c.last_sign_in,
        "extensionAttributes/extensionAttribute1": devices.c.ext1,
        "physicalIds": JsonArray(devices.c.physical_ids),
        "systemLabels": JsonArray(devices.c.system_labels),
    },
)
GROUPS = ResourceCatalogue.bind(
    GROUP,
    id_column=groups.c.id,
    storage={"displayName": groups.c.display_name, "createdDateTime": groups.c.created},
)
SIGN_INS = ResourceCatalogue.bind(SIGN_IN, id_column=sign_ins.c.id, storage={"createdDateTime": sign_ins.c.created})
EVENTUAL = "eventual"


def query(params: dict[str, str], *, header: str | None = None, catalogue: ResourceCatalogue = CATALOGUE):
    return parse_query(params, consistency_level=header, catalogue=catalogue, signing_key=KEY)


def refused(params: dict[str, str], *, header: str | None = None, **kw: object) -> GraphError:
    with pytest.raises(GraphError) as caught:
        query(params, header=header, **kw)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    return caught.value


ADVANCED = {"$count": "true"}

# Filters Graph accepts by default on devices (graph-facts.md §1).
DEFAULT_OK = [
    "deviceId eq '4c299165-6e8f-4b45-a5ba-c5d250a707ff'",
    "displayName eq 'a'",
    "displayName ge 'a' and displayName le 'm'",
    "startswith(displayName,'a')",
    "displayName in ('a','b')",
    "trustType eq 'AzureAd' or trustType in ('Workplace')",
    "isCompliant eq true and mdmAppId eq 'x'",
    "startswith(mdmAppId,'0000')",
    "operatingSystem ge 'iOS' and startswith(operatingSystem,'Win')",
    "approximateLastSignInDateTime ge 2024-01-01T00:00:00Z",
    "physicalIds/any(p:p eq '[ZTDId]:abc')",
    "physicalIds/any(p:startswith(p,'[USER-GID]'))",
]


@pytest.mark.parametrize("text", DEFAULT_OK)
def test_default_filters_need_no_advanced_parameters(text: str) -> None:
    q = query({"$filter": text})
    assert q.where is not None and not q.advanced


# Graph: "ne", "not", "endsWith", "/$count" and null comparisons need ConsistencyLevel + $count=true.
ADVANCED_ONLY = [
    ("displayName ne 'a'", "ne"),
    ("not(displayName eq 'a')", "not"),
    ("NOT startsWith(displayName, 'Conf')", "not"),
    ("isCompliant ne true", "ne"),
    ("not(physicalIds/any(p:p eq 'x'))", "not"),
    ("physicalIds/$count eq 0", "$count"),
    ("systemLabels/$count ne 0", "$count"),
    ("displayName eq null", "null"),
    ("extensionAttributes/extensionAttribute1 eq 'BYOD-Device'", "eq"),
]


@pytest.mark.parametrize(("text", "op"), ADVANCED_ONLY)
def test_advanced_only_operators_fail_without_the_advanced_parameters(text: str, op: str) -> None:
    for header, extra in ((None, {}), (EVENTUAL, {}), (None, ADVANCED)):
        err = refused({"$filter": text, **extra}, header=header)
        assert err.code == "Request_UnsupportedQuery"
        assert err.message == (
            f"Operator '{op}' is not supported because the required parameters might be missing. "
            "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
            "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        )
    q = query({"$filter": text, **ADVANCED}, header=EVENTUAL)
    assert q.advanced and q.count and q.include_count


UNSUPPORTED = [
    ("manufacturer eq 'Contoso'", "manufacturer"),  # a device property Graph does not filter on
    ("isCompliant ge true", "isCompliant"),
    ("startswith(trustType,'A')", "trustType"),
    ("endswith(displayName,'x')", "displayName"),  # endsWith only on mail, otherMails, UPN, proxyAddresses
    ("physicalIds eq 'x'", "physicalIds"),
    ("systemLabels/any(s:s eq 'x')", "systemLabels"),
    ("physicalIds/$count ge 1", "physicalIds"),
    ("operatingSystem gt 'a'", "operatingSystem"),
    ("displayName in ('a', null)", "displayName"),
    ("model eq 'x'", "model"),  # filterable nowhere in Graph's list
    ("profileType eq 'Printer'", "profileType"),
]


@pytest.mark.parametrize(("text", "prop"), UNSUPPORTED)
def test_unsupported_clauses_are_refused_even_in_advanced_mode(text: str, prop: str) -> None:
    err = refused({"$filter": text, **ADVANCED}, header=EVENTUAL)
    assert err.code == "Request_UnsupportedQuery"
    assert err.message == (
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource 'Device'."
    )


def test_groups_refuse_created_date_time_even_in_advanced_mode_as_the_docs_show() -> None:
    # aad-advanced-queries: GET /groups?$filter=createdDateTime ge 2021-11-01&$count=true + header
    err = refused({"$filter": "createdDateTime ge 2021-11-01", "$count": "true"}, header=EVENTUAL, catalogue=GROUPS)
    assert err.code == "Request_UnsupportedQuery"
    assert err.message == (
        "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'Group'."
    )


def test_a_property_the_store_did_not_bind_is_refused_like_an_unsupported_one() -> None:
    err = refused({"$filter": "accountEnabled eq true"})
    assert "property 'accountEnabled' of resource 'Device'" in err.message


def test_unknown_property_names_the_type() -> None:
    err = refused({"$filter": "colour eq 'red'"})
    assert err.code == "Request_BadRequest"
    assert (
        err.message
        == "Invalid filter clause: Could not find a property named 'colour' on type 'microsoft.graph.device'."
    )


def test_property_names_are_case_insensitive() -> None:
    q = query({"$filter": "DISPLAYNAME eq 'a' and trusttype eq 'x'"})
    assert q.where is not None


def test_literal_of_the_wrong_type_is_a_bad_request() -> None:
    err = refused({"$filter": "isCompliant eq 'true'"})
    assert err.code == "Request_BadRequest"
    assert "Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'" in err.message


def test_count_segment_without_the_header_is_the_documented_error() -> None:
    with pytest.raises(GraphError) as caught:
        parse_query({}, consistency_level=None, catalogue=CATALOGUE, signing_key=KEY, count_segment=True)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        400,
        "Request_BadRequest",
        "$count is not currently supported.",
    )
    q = parse_query({}, consistency_level="eventual", catalogue=CATALOGUE, signing_key=KEY, count_segment=True)
    assert q.advanced


def test_count_true_without_the_header_is_silently_ignored() -> None:
    q = query({"$count": "true"})
    assert not q.count and not q.include_count and not q.advanced
    assert query({"$count": "true"}, header="Eventual").include_count


def test_count_must_be_true_or_false() -> None:
    assert refused({"$count": "yes"}).message == "'yes' is not a valid count option."


def test_search_without_the_header_is_the_documented_error() -> None:
    err = refused({"$search": '"displayName:Android"'})
    assert err.code == "Request_UnsupportedQuery"
    assert err.message == (
        "Request with $search query parameter only works through MSGraph with a special request header: "
        "'ConsistencyLevel: eventual'"
    )


def test_search_needs_only_the_header() -> None:
    q = query({"$search": '"displayName:Android" OR "operatingSystem:And"'}, header=EVENTUAL)
    assert q.search is not None and not q.advanced


def test_search_on_a_property_that_does_not_support_it_is_refused() -> None:
    err = refused({"$search": '"mdmAppId:abc"'}, header=EVENTUAL)
    assert err.code == "Request_UnsupportedQuery"


@pytest.mark.parametrize("text", ['"displayName:x', "displayName:x", '"displayName:x" AND', '"nocolon"'])
def test_malformed_search_is_a_bad_request(text: str) -> None:
    assert refused({"$search": text}, header=EVENTUAL).code == "Request_BadRequest"


@pytest.mark.parametrize(
    ("top", "ok"), [("1", True), ("999", True), ("0", False), ("1000", False), ("-5", False), ("x", False)]
)
def test_top_is_between_1_and_999(top: str, ok: bool) -> None:
    if ok:
        assert query({"$top": top}).top == int(top)
        return
    err = refused({"$top": top})
    assert err.code == "Request_UnsupportedQuery"
    assert err.message == f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."


def test_default_page_size_is_100_and_sign_ins_page_by_1000() -> None:
    assert query({}).top == 100
    assert query({}, catalogue=SIGN_INS).top == 1000
    assert query({"$top": "1000"}, catalogue=SIGN_INS).top == 1000


def test_skip_is_not_supported_on_directory_objects() -> None:
    err = refused({"$skip": "10"})
    assert (err.code, err.message) == ("Request_BadRequest", "'$skip' is not supported by the service.")


def test_unknown_dollar_option_is_refused_and_other_parameters_ignored() -> None:
    assert refused({"$apply": "x"}).message == "The query parameter '$apply' is not supported."
    assert query({"api-version": "1.6"}).where is None


def test_select_returns_canonical_names_and_refuses_unknown_ones() -> None:
    assert query({"$select": "ID,displayname, extensionAttributes"}).select == (
        "id",
        "displayName",
        "extensionAttributes",
    )
    err = refused({"$select": "id,colour"})
    assert err.code == "Request_BadRequest"
    assert err.message == (
        "Parsing OData Select and Expand failed: Could not find a property named 'colour' "
        "on type 'microsoft.graph.device'."
    )
    # graph-facts §1: the individual extension attributes cannot be $selected
    refused({"$select": "extensionAttributes/extensionAttribute1"})


def test_orderby_on_devices_is_advanced_only() -> None:
    err = refused({"$orderby": "displayName"})
    assert (err.code, err.message) == ("Request_UnsupportedQuery", "Sorting not supported for current query.")
    q = query({"$orderby": "displayName desc", **ADVANCED}, header=EVENTUAL)
    assert q.orderby is not None and q.orderby.descending and q.orderby.property.name == "displayName"


def test_orderby_on_a_property_graph_does_not_sort_is_refused() -> None:
    err = refused({"$orderby": "operatingSystem", **ADVANCED}, header=EVENTUAL)
    assert err.message == "Sorting not supported for current query."


def test_filter_with_orderby_needs_advanced_queries_even_where_orderby_alone_does_not() -> None:
    assert query({"$orderby": "displayName"}, catalogue=GROUPS).orderby is not None  # default on groups
    err = refused({"$orderby": "displayName", "$filter": "displayName eq 'a'"}, catalogue=GROUPS)
    assert err.message == "Sorting not supported for current query."
    assert query(
        {"$orderby": "displayName", "$filter": "displayName eq 'a'", **ADVANCED},
        header=EVENTUAL,
        catalogue=GROUPS,
    )


def test_sign_ins_default_to_most_recent_first_and_need_no_advanced_queries() -> None:
    q = query({"$filter": "createdDateTime ge 2024-01-01", "$orderby": "createdDateTime"}, catalogue=SIGN_INS)
    assert q.orderby is not None and not q.orderby.descending
    default = query({}, catalogue=SIGN_INS)
    assert default.orderby is not None and default.orderby.descending


def test_skiptoken_for_another_query_or_forged_is_refused() -> None:
    q = query({"$filter": "displayName eq 'a'"})
    token = encode_skiptoken(Cursor("a", "id-1"), fingerprint=q.fingerprint, signing_key=KEY)
    assert query({"$filter": "displayName eq 'a'", "$skiptoken": token}).cursor == Cursor("a", "id-1")
    for params in (
        {"$filter": "displayName eq 'b'", "$skiptoken": token},  # reused with another filter
        {"$filter": "displayName eq 'a'", "$skiptoken": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")},
        {"$filter": "displayName eq 'a'", "$skiptoken": "X'4453707402000100'"},
        {"$filter": "displayName eq 'a'", "$skiptoken": ""},
    ):
        err = refused(params)
        assert (err.code, err.message) == ("Request_BadRequest", "Invalid Skip Token")
    with pytest.raises(GraphError):  # signed with another key
        parse_query(
            {"$filter": "displayName eq 'a'", "$skiptoken": token},
            consistency_level=None,
            catalogue=CATALOGUE,
            signing_key=b"another key",
        )


def test_next_link_keeps_the_other_options_and_replaces_the_skiptoken() -> None:
    first = query({"$filter": "startswith(displayName,'a b')", "$top": "5", "other": "1"})
    token = encode_skiptoken(Cursor("a b", "1"), fingerprint=first.fingerprint, signing_key=KEY)
    q = query({"$filter": "startswith(displayName,'a b')", "$top": "5", "other": "1", "$skiptoken": token})
    link = next_link("https://graph.microsoft.com/v1.0/devices?$top=5&other=1", q, "tok.en")
    assert link == (
        "https://graph.microsoft.com/v1.0/devices?$filter=startswith(displayName,'a%20b')&$top=5&$skiptoken=tok.en"
    )
