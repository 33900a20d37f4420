"""Reconcile: compare what the MDM says of each linked device with the directory's device record, report the
drift and (unless it is a dry run) queue a forced re-delivery of every drifted device.

The directory is read with paged ``$filter=deviceId in (…)`` queries of 15 ids (``in`` works wherever ``eq``
does; graph-facts.md §1) selecting only what is compared. The repair goes through the queue like any
change, so it is batched, throttled and recorded the same way; its version is the feed position read
before the MDM listing, so a newer feed entry is never overwritten by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.client import MdmClient
from posturebridge.partner import queue
from posturebridge.partner.channels import ChannelRegistry
from posturebridge.partner.delivery import snapshot_of
from posturebridge.partner.graph_client import GraphClient, odata_quote
from posturebridge.partner.queue import Change, DeviceState

FILTER_CHUNK = 15
COMPARED = ("isManaged", "isCompliant")


@dataclass(frozen=True)
class Drift:
    device_id: str
    entra_device_id: str
    platform: str
    differences: dict[str, tuple[Any, Any]]
    """Property -> (MDM's value, directory's value); ``record`` -> (True, None) when the directory has none."""


@dataclass
class ReconcileReport:
    dry_run: bool
    checked: int = 0
    in_sync: int = 0
    unlinked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    queued: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "checked": self.checked,
            "inSync": self.in_sync,
            "unlinked": self.unlinked,
            "queued": self.queued,
            "drifts": [
                {
                    "deviceId": d.device_id,
                    "entraDeviceId": d.entra_device_id,
                    "platform": d.platform,
                    "differences": {k: {"mdm": m, "directory": g} for k, (m, g) in d.differences.items()},
                }
                for d in self.drifts
            ],
        }


def chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def directory_records(graph: GraphClient, entra_device_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """deviceId -> the directory's record (id, deviceId, isManaged, isCompliant) for the ids that exist."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunks(entra_device_ids, FILTER_CHUNK):
        ids = ",".join(odata_quote(value) for value in chunk)
        path = f"/devices?$filter=deviceId in ({ids})&$select=id,deviceId,isManaged,isCompliant,operatingSystem"
        for record in graph.pages(path):
            found[str(record.get("deviceId", "")).lower()] = record
    return found


def compare(state: DeviceState, record: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    if record is None:
        return {"record": (True, None)}
    expected = {"isManaged": state.is_managed, "isCompliant": state.is_compliant}
    return {name: (expected[name], record.get(name)) for name in COMPARED if record.get(name) != expected[name]}


def reconcile(
    sessions: sessionmaker[Session],
    mdm: MdmClient,
    graph: GraphClient,
    channels: ChannelRegistry,
    now: dt.datetime,
    *,
    dry_run: bool,
) -> ReconcileReport:
    report = ReconcileReport(dry_run)
    position = mdm.feed_position().last_sequence
    states: list[tuple[DeviceState, str]] = []
    for device in mdm.iter_devices():
        state = DeviceState.from_snapshot(snapshot_of(device))
        channel = channels.route(state.platform)
        if channel is None:
            continue
        if state.entra_device_id is None:
            report.unlinked += 1
            continue
        states.append((state, channel))
    records = directory_records(graph, [s.entra_device_id or "" for s, _ in states])
    repairs: list[Change] = []
    for state, channel in states:
        report.checked += 1
        assert state.entra_device_id is not None
        differences = compare(state, records.get(state.entra_device_id.lower()))
        if not differences:
            report.in_sync += 1
            continue
        report.drifts.append(Drift(state.device_id, state.entra_device_id, state.platform, differences))
        repairs.append(Change(position, state, channel))
    if repairs and not dry_run:
        with unit_of_work(sessions) as session:
            queue.begin_write(session)
            for change in repairs:
                queue.upsert(session, change, now, force=True)
            session.commit()
        report.queued = len(repairs)
    return report
