"""The device link and its conflicts, on the partner database: duplicates come and go with the links, a new
Entra device ID forgets the old one's conflict, the registered owner is compared by UPN or immutable ID."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.partner import link
from posturebridge.partner.link import DirectoryDevice, LinkFacts, Owner
from tests.unit.partner.conftest import T0

X, Y = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"


def conflicts(session: Session) -> dict[str, str | None]:
    return {row.device_id: row.conflict for row in link.conflicts(session)}


def test_a_shared_entra_device_marks_both_and_relinking_one_clears_both(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        link.record(session, [LinkFacts("a", "iOS", X), LinkFacts("b", "iOS", X.upper())], T0)
        assert link.refresh_duplicates(session, [X], T0) == set()
        assert conflicts(session) == {"a": link.DUPLICATE, "b": link.DUPLICATE}
        link.record(session, [LinkFacts("b", "iOS", Y)], T0)
        assert link.refresh_duplicates(session, [Y], T0) == {"a", "b"}
        assert conflicts(session) == {}


def test_a_new_entra_device_id_forgets_the_deleted_one(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        link.record(session, [LinkFacts("a", "iOS", X, "u1", "megan@contoso.example")], T0)
        link.apply_lookup(session, "a", DirectoryDevice(deleted=True), None, T0)
        assert conflicts(session) == {"a": link.DELETED}
        link.record(session, [LinkFacts("a", "iOS", Y, "u1", "megan@contoso.example")], T0)
        assert conflicts(session) == {}
        assert [t.entra_device_id for t in link.targets(session, ["a"])] == [Y]


@pytest.mark.parametrize(
    ("owner", "conflict"),
    [
        (Owner("MEGAN@contoso.example", None), None),
        (Owner("m.bowen@contoso.example", "imm-1"), None),
        (Owner("alex@contoso.example", "imm-2"), link.OTHER_OWNER),
    ],
)
def test_the_registered_owner_must_be_the_enrolled_user(
    sessions: sessionmaker[Session], owner: Owner, conflict: str | None
) -> None:
    with unit_of_work(sessions) as session:
        link.record(session, [LinkFacts("a", "iOS", X, "u1", "megan@contoso.example")], T0)
        link.apply_lookup(session, "a", DirectoryDevice(False, "obj-1", (owner,)), "imm-1", T0)
        assert conflicts(session) == ({"a": conflict} if conflict else {})
        assert link.targets(session, ["a"]) == []  # checked: not looked up again before delivery


def test_an_existence_check_keeps_the_owner_verdict(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        link.record(session, [LinkFacts("a", "iOS", X, "u1", "megan@contoso.example")], T0)
        link.apply_lookup(
            session, "a", DirectoryDevice(False, "obj-1", (Owner("alex@contoso.example", None),)), None, T0
        )
        link.apply_lookup(session, "a", DirectoryDevice(False, "obj-1", None), None, T0)
        assert conflicts(session) == {"a": link.OTHER_OWNER}
