"""Group commit: check-ins queued while a transaction runs are taken together in the next one, and
each is answered, after the commit, exactly as it would have been alone: its own result or its own
refusal; a sample that breaks its group's transaction is retried alone and fails alone."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.domain import EnrollmentStatus, SampleReplayedError
from posturebridge.mdm.service import compliance, devices
from posturebridge.mdm.service.compliance import Arrival, CheckInResult
from posturebridge.mdm.service.credentials import hash_secret
from posturebridge.mdm.service.errors import Forbidden, NotFound, Unauthenticated
from posturebridge.mdm.service.ingest import GroupCommit
from tests.unit.mdm.world import NOW, World

WAIT = 10.0


class GatedClock:
    """The group's clock: it is read once at the start of each group, so holding it holds the writer
    inside its first group while the test queues the next one; ``groups`` counts transactions."""

    def __init__(self) -> None:
        self.groups = 0
        self.inside = threading.Event()
        self.gate = threading.Event()

    def __call__(self) -> dt.datetime:
        self.groups += 1
        self.inside.set()
        assert self.gate.wait(WAIT)
        return NOW


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    return World.with_policy(sessions, NOW)


@pytest.fixture
def clock() -> Iterator[GatedClock]:
    clock = GatedClock()
    yield clock
    clock.gate.set()


@pytest.fixture
def writer(world: World, clock: GatedClock) -> GroupCommit:
    return GroupCommit(world.sessions, world.cache, clock, writers=1)  # PostgreSQL would have several


def _queued_behind_a_first_group(writer: GroupCommit, clock: GatedClock, world: World) -> None:
    """Start a first group (one sample of a device of its own) and hold the writer inside it."""
    first = world.enroll().device.id
    writer.submit(Arrival(first, first, world.sample("17.4")))
    assert clock.inside.wait(WAIT)


def _in_one_group(
    writer: GroupCommit, clock: GatedClock, world: World, arrivals: list[Arrival]
) -> list[CheckInResult | BaseException]:
    """Queue ``arrivals`` while the writer is held in a first group, so they form the next one."""
    _queued_behind_a_first_group(writer, clock, world)
    futures = [writer.submit(arrival) for arrival in arrivals]
    assert not any(future.done() for future in futures)  # nothing is answered before its commit
    clock.gate.set()
    return _answers(futures)


def _answers(futures: list[Future[CheckInResult]]) -> list[CheckInResult | BaseException]:
    answers: list[CheckInResult | BaseException] = []
    for future in futures:
        error = future.exception(WAIT)
        answers.append(error if error is not None else future.result())
    return answers


def test_samples_queued_together_share_one_transaction_and_each_gets_its_own_answer_after_the_commit(
    world: World, writer: GroupCommit, clock: GatedClock
) -> None:
    compliant, failing = world.enroll().device.id, world.enroll().device.id
    arrivals = [Arrival(compliant, compliant, world.sample("17.4")), Arrival(failing, failing, world.sample("16.7"))]
    answers = _in_one_group(writer, clock, world, arrivals)
    assert clock.groups == 2
    assert [(a.device_id, a.compliance_state) for a in answers if isinstance(a, CheckInResult)] == [
        (compliant, "compliant"),
        (failing, "inGracePeriod"),
    ]
    assert all(isinstance(a, CheckInResult) and a.evaluation_document["deviceId"] == a.device_id for a in answers)
    assert world.device(compliant).compliance_state == "compliant"  # committed: another session sees it
    assert world.entries_of(failing)[-1] == ("notEvaluated", "inGracePeriod")


def test_samples_of_one_device_in_one_group_are_taken_in_arrival_order(
    world: World, writer: GroupCommit, clock: GatedClock
) -> None:
    device_id = world.enroll().device.id
    newer, older = world.sample("17.4", sequence=10), world.sample("16.0", sequence=5)
    arrivals = [Arrival(device_id, device_id, body) for body in (newer, older, {**newer})]
    accepted, ignored, replayed = _in_one_group(writer, clock, world, arrivals)
    assert clock.groups == 2
    assert isinstance(accepted, CheckInResult) and accepted.disposition == "accepted"
    assert isinstance(ignored, CheckInResult) and ignored.disposition == "ignoredStale"
    assert isinstance(replayed, SampleReplayedError)
    stored = world.device(device_id)
    assert stored.latest_sample is not None and stored.latest_sample["osVersion"] == "17.4"
    assert world.entries_of(device_id) == [(None, "notEvaluated"), ("notEvaluated", "compliant")]


def test_a_refused_sample_is_answered_with_its_refusal_and_the_others_of_its_group_stand(
    world: World, writer: GroupCommit, clock: GatedClock
) -> None:
    good, other = world.enroll().device.id, world.enroll().device.id
    arrivals = [
        Arrival(good, good, world.sample("17.4")),
        Arrival(good, other, world.sample("17.4")),
        Arrival(good, good, {**world.sample(), "osVersion": "seventeen"}),
    ]
    answers = _in_one_group(writer, clock, world, arrivals)
    assert [type(a).__name__ for a in answers] == ["CheckInResult", "NotFound", "ValidationError"]
    assert world.device(good).compliance_state == "compliant"
    assert world.device(other).latest_sample is None


def test_a_sample_that_breaks_its_group_is_retried_alone_and_only_it_fails(
    world: World, writer: GroupCommit, clock: GatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, broken, after = (world.enroll().device.id for _ in range(3))
    judge = compliance.judge

    def judge_failing_for_one_device(session: Session, facts: compliance.DeviceFacts, *args: Any, **kw: Any) -> Any:
        if facts.id == broken:
            raise RuntimeError("the database went away for this one")
        return judge(session, facts, *args, **kw)

    monkeypatch.setattr(compliance, "judge", judge_failing_for_one_device)
    last = world.feed()[-1].sequence
    answers = _in_one_group(
        writer, clock, world, [Arrival(d, d, world.sample("16.7")) for d in (before, broken, after)]
    )
    assert isinstance(answers[1], RuntimeError)
    assert [a.compliance_state for a in answers if isinstance(a, CheckInResult)] == ["inGracePeriod"] * 2
    assert clock.groups == 2 + 3  # the first group, the failed group, then each of its samples alone
    assert world.device(broken).latest_sample is None
    entries = world.feed(after=last)
    assert [e.sequence for e in entries] == list(range(last + 1, last + 1 + len(entries)))  # no holes
    assert {e.device_id for e in entries} >= {before, after}
    assert broken not in {e.device_id for e in entries}


def test_a_request_that_went_away_before_its_sample_was_taken_checks_nothing_in(
    world: World, writer: GroupCommit, clock: GatedClock
) -> None:
    device_id = world.enroll().device.id
    _queued_behind_a_first_group(writer, clock, world)
    abandoned = writer.submit(Arrival(device_id, device_id, world.sample("17.4")))
    assert abandoned.cancel()
    kept = writer.submit(Arrival(device_id, device_id, world.sample("16.7")))
    clock.gate.set()
    assert kept.result(WAIT).compliance_state == "inGracePeriod"
    stored = world.device(device_id).latest_sample
    assert stored is not None and stored["osVersion"] == "16.7"


def test_the_device_credential_is_checked_on_the_locked_row_with_the_refusals_of_authentication(
    world: World, writer: GroupCommit, clock: GatedClock
) -> None:
    clock.gate.set()
    enrolled, other = world.enroll(), world.enroll()
    device_id, token = enrolled.device.id, enrolled.device_token

    def take(credential: str, path_device_id: str = device_id) -> CheckInResult:
        arrival = Arrival(None, path_device_id, world.sample("17.4"), credential_hash=hash_secret(credential))
        return writer.submit(arrival).result(WAIT)

    assert take(token).device_id == device_id
    with pytest.raises(Unauthenticated):
        take("pbd_not-a-credential")
    with pytest.raises(NotFound):
        take(token, other.device.id)  # a device reports only for itself
    world.run(
        lambda s: devices.change_enrollment_status(
            s, world.organisation_id, device_id, EnrollmentStatus.UNENROLLED, NOW, world.cache
        )
    )
    with pytest.raises(Forbidden):
        take(token)


def test_several_writers_take_concurrent_check_ins_without_deadlock(world: World) -> None:
    """PostgreSQL's several writers lock devices in one order, so crossing groups cannot deadlock."""
    fleet = [world.enroll().device.id for _ in range(6)]
    writer = GroupCommit(world.sessions, world.cache, lambda: NOW, writers=3, max_group=4)
    futures = [
        writer.submit(Arrival(device_id, device_id, world.sample("17.4" if round % 2 else "16.7")))
        for round in range(5)
        for device_id in (fleet if round % 2 else fleet[::-1])
    ]
    answers = _answers(futures)
    assert all(isinstance(answer, CheckInResult) for answer in answers), answers
    entries = world.feed()
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
