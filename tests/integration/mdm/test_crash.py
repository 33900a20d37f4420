"""Kill the MDM with SIGKILL while check-ins are in flight and a consumer follows the feed: after a
restart the consumer resumes from its position and finds every transition the MDM acknowledged."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from tests.integration.mdm.conftest import free_port
from tests.integration.mdm.conftest import start_mdm as start

from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.schemas import FeedEntryOut
from posturebridge.mdm.service import credentials

pytestmark = pytest.mark.integration

POLICY = {
    "displayName": "iOS minimum",
    "platform": "iOS",
    "rules": [{"type": "osMinimumVersion", "version": "17.0"}],
    "assignment": {"allDevices": True},
}


def test_sigkill_between_check_in_and_read_loses_no_acknowledged_transition(tmp_path: Path) -> None:
    data_dir = tmp_path
    engine = make_engine(f"sqlite:///{data_dir / 'mdm.db'}")
    migrate(engine, "mdm")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, "Contoso", dt.datetime.now(dt.UTC))
        session.commit()
    engine.dispose()

    port = free_port()
    process = start(data_dir, port)
    url = f"http://127.0.0.1:{port}"
    admin = MdmClient.with_client_credentials(url, org.client.id, org.client.secret)
    admin.create_policy(POLICY)
    agents: dict[str, MdmClient] = {}
    for _ in range(4):
        token = admin.create_enrollment_token().token
        assert token is not None
        enrolled = admin.enroll(token, platform="iOS", model="iPhone15,2", os_version="17.4")
        agents[enrolled.device_id] = MdmClient.for_device(url, enrolled.device_token, timeout=5)

    acknowledged: dict[str, list[str]] = {device_id: [] for device_id in agents}
    consumed: list[FeedEntryOut] = []
    stop = threading.Event()

    def check_in_forever(device_id: str) -> None:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            version = "16.5" if sequence % 2 else "17.4"
            body = {
                "sequence": sequence,
                "nonce": uuid.uuid4().hex,
                "sampledDateTime": dt.datetime.now(dt.UTC).isoformat(),
                "osVersion": version,
            }
            try:
                answer = agents[device_id].check_in(device_id, body)
            except MdmApiError:
                return  # the MDM died mid-request: not acknowledged
            acknowledged[device_id].append(answer.compliance_state)

    def consume() -> None:
        with MdmClient.with_client_credentials(url, org.client.id, org.client.secret, timeout=5) as consumer:
            after = 0
            while not stop.is_set():
                try:
                    page = consumer.feed(after, limit=50, wait=1)
                except MdmApiError:
                    return
                consumed.extend(page.entries)
                after = page.next_after

    threads = [threading.Thread(target=check_in_forever, args=(d,)) for d in agents]
    threads.append(threading.Thread(target=consume))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while sum(len(v) for v in acknowledged.values()) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert sum(len(v) for v in acknowledged.values()) >= 40

    port = free_port()
    process = start(data_dir, port)
    try:
        with MdmClient.with_client_credentials(
            f"http://127.0.0.1:{port}", org.client.id, org.client.secret
        ) as consumer:
            after = consumed[-1].sequence if consumed else 0
            while True:
                page = consumer.feed(after, limit=1000)
                consumed.extend(page.entries)
                after = page.next_after
                if not page.has_more:
                    break
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert [e.sequence for e in consumed] == list(range(1, len(consumed) + 1))
    for device_id, states in acknowledged.items():
        chain = [e.value for e in consumed if e.device_id == device_id and e.kind == "complianceStateChanged"]
        expected = ["notEvaluated"]
        for state in states:
            if state != expected[-1]:
                expected.append(state)
        # Every acknowledged transition is there, in order; a check-in in flight at the kill may add one more.
        assert chain[: len(expected)] == expected
        assert len(chain) <= len(expected) + 1
    admin.close()
    for agent in agents.values():
        agent.close()
