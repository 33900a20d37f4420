"""Many linked Windows devices at once, written with SQL into the MDM's and the directory's databases: what
enrolling and linking them one by one through the MDM API would leave behind (device rows, their
``entraDeviceIdChanged`` feed entries, the directory's device objects), in seconds instead of hours. The
partner under test still reads them from the MDM feed over HTTP and writes them to Graph over HTTPS.
Used by the partner benchmarks (bench/partner_full_sync.py) and the pacing test."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import Engine, insert
from sqlalchemy.orm import sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.directory.models import Device
from posturebridge.mdm.models import DeviceRow
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.compliance import device_snapshot
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from tests.integration.partner.conftest import World


def seed_bulk(world: World, mdm_engine: Engine, count: int, noncompliant_every: int = 2) -> None:
    """``count`` more linked Windows devices like the world's first one; every ``noncompliant_every``-th is
    non-compliant."""
    now = utcnow()
    mdm_sessions = sessionmaker(mdm_engine, expire_on_commit=False)
    with unit_of_work(mdm_sessions) as session:
        template = session.get(DeviceRow, world.devices[0].mdm_id)
        assert template is not None
        columns = {c.key: getattr(template, c.key) for c in DeviceRow.__table__.columns}
        organisation_id = template.organisation_id
    for start in range(0, count, 5_000):
        mdm_rows, entries, directory_rows = [], [], []
        for number in range(start, min(start + 5_000, count)):
            device_id, entra_id = str(uuid.uuid4()), str(uuid.uuid4())
            compliant = number % noncompliant_every != 0
            row = {
                **columns,
                "id": device_id,
                "credential_hash": hashlib.sha256(device_id.encode()).hexdigest(),
                "entra_device_id": entra_id,
                "compliance_state": "compliant" if compliant else "noncompliant",
                "is_compliant": compliant,
                "udid": None,
                "serial_number": f"BULK{number:08d}",
            }
            mdm_rows.append(row)
            snapshot = device_snapshot(DeviceRow(**row))
            entries.append(NewFeedEntry(FeedKind.ENTRA_DEVICE_ID, device_id, None, entra_id, {"device": snapshot}))
            directory_rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "tenant_id": world.tenant.id,
                    "device_id": entra_id,
                    "display_name": f"BULK-{number}",
                    "operating_system": "Windows",
                    "operating_system_version": "10.0.22631.3007",
                    "trust_type": "AzureAd",
                    "mdm_app_id": world.windows_app_id,
                    "created_date_time": now,
                    "registration_date_time": now,
                }
            )
        with unit_of_work(mdm_sessions) as session:
            session.execute(insert(DeviceRow), mdm_rows)
            feed.append(session, organisation_id, entries, now)
            session.commit()
        with world.directory.session() as directory_session:
            directory_session.execute(insert(Device), directory_rows)
            directory_session.commit()
