"""Users in scope, licences and device-link conflicts, end to end: the real directory (compliance partner record,
groups, licences, registered devices, the Intune partner endpoints) and the real MDM on loopback, the partner
delivering iOS devices through the Intune partner channel with its directory gate.

A device the partner must not report is held with a reason, visible in the queue and in the device's CA log
in the MDM; the next directory sync (on the schedule, or asked for in the MDM) queues it again once the
reason is gone."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.directory import tenants
from posturebridge.directory.models import (
    Device,
    DeviceRegisteredPrincipal,
    Group,
    GroupMember,
    ServicePrincipal,
    Tenant,
    UserLicense,
)
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.models import DeviceRow
from posturebridge.mdm.service import credentials
from posturebridge.partner import delivery, link, queue
from posturebridge.partner.channels import ChannelRegistry
from posturebridge.partner.channels.intune import IntuneChannel, IntuneSetup
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.gate import DirectoryGate
from posturebridge.partner.graph_client import Credential, GraphClient, MsalHttpClient, MsalTokens
from posturebridge.partner.models import DirectorySync
from posturebridge.partner.reconcile import reconcile
from posturebridge.partner.retry import RetryPolicy
from posturebridge.partner.settings import INTUNE_RESOURCE
from posturebridge.partner.worker import Worker
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.intune_support import (
    INTUNE_SKU,
    PartnerWorld,
    add_device,
    add_group_member,
    add_user,
    group_target,
    onboard,
    seed_world,
)
from tests.integration.partner.conftest import LiveMdm, wait_until

pytestmark = pytest.mark.integration

GRAPH_READS = ["DeviceManagementServiceConfig.Read.All", "Organization.Read.All", "GroupMember.Read.All"]


@dataclass
class ScopeWorld:
    directory: DirectoryServer
    partner: PartnerWorld
    mdm: MdmClient
    mdm_url: str
    ctx: DeliveryContext
    gate: DirectoryGate
    exclude_group_id: str
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4))

    @property
    def tenant(self) -> SeededTenant:
        return self.partner.tenant

    def enrol(self, upn: str, entra_device_id: str, *, serial: str | None = None) -> str:
        """An iPhone enrolled in the MDM by the MDM user with ``upn`` (created if new), linked to Entra."""
        users = {u.user_principal_name: u for u in self.mdm.list_users()}
        user = users.get(upn) or self.mdm.create_user(upn.split("@")[0], userPrincipalName=upn, displayName=upn)
        token = self.mdm.create_enrollment_token(user_id=user.id, platform="iOS").token
        assert token is not None
        with MdmClient(self.mdm_url) as anonymous:
            enrolled = anonymous.enroll(
                token,
                platform="iOS",
                model="iPhone 15",
                os_version="17.5",
                udid=uuid.uuid4().hex,
                serial_number=serial or uuid.uuid4().hex[:12].upper(),
            )
        self.mdm.set_entra_device_id(enrolled.device_id, entra_device_id)
        return enrolled.device_id

    def drive(self) -> None:
        """Read the feed, deliver what is due (holding what the gate refuses), forward the CA log entries."""
        for _ in range(20):
            result = delivery.pull_feed(self.ctx, 0)
            if not result.queued and not result.coalesced:
                break
        for _ in range(20):
            if not delivery.deliver_due(self.ctx, self.pool):
                break
        while delivery.forward_calls(self.ctx, self.pool):
            pass

    def item(self, device_id: str) -> tuple[str, str | None]:
        with unit_of_work(self.ctx.sessions) as session:
            row = next(i for i in queue.all_items(session) if i.device_id == device_id)
            return row.state, row.last_error

    def directory_device(self, entra_device_id: str) -> tuple[bool | None, bool | None]:
        with self.directory.session() as session:
            row = session.scalars(select(Device).where(Device.device_id == entra_device_id)).one()
            return row.is_managed, row.is_compliant

    def conflicts(self) -> dict[str, tuple[str | None, str | None]]:
        with unit_of_work(self.ctx.sessions) as session:
            return {row.device_id: (row.conflict, row.conflict_detail) for row in link.conflicts(session)}


@pytest.fixture
def world(directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path) -> Iterator[ScopeWorld]:
    from tests.integration.directory.conftest import seed_tenant

    tenant = seed_tenant(directory_server)
    partner = seed_world(directory_server, tenant)
    now = utcnow()
    with directory_server.session() as session:
        customer = session.get(Tenant, tenant.id)
        principal = session.scalars(
            select(ServicePrincipal).where(
                ServicePrincipal.tenant_id == tenant.id, ServicePrincipal.app_id == partner.app_id
            )
        ).one()
        assert customer is not None
        tenants.grant_application_permissions(session, customer, principal, GRAPH_READS, now=now)
        excluded = Group(
            id=str(uuid.uuid4()),
            tenant_id=tenant.id,
            display_name="Contractors",
            mail_nickname="contractors",
            group_types=[],
            created_date_time=now,
        )
        session.add(excluded)
        session.commit()
        exclude_group_id = excluded.id
    onboard(partner, ios=[group_target(partner.group_id), group_target(exclude_group_id, exclude=True)])

    with unit_of_work(sessionmaker(live_mdm.engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, f"Org {uuid.uuid4().hex[:6]}", utcnow())
        session.commit()
    mdm = MdmClient.with_client_credentials(live_mdm.url, org.client.id, org.client.secret)
    engine = make_engine(f"sqlite:///{tmp_path / 'partner.db'}")
    migrate(engine, "partner")
    sessions = sessionmaker(engine, expire_on_commit=False)
    verify = directory_server.ssl_context
    http = httpx.Client(verify=verify, timeout=15.0)
    tokens = MsalTokens(
        Credential(partner.app_id, partner.secret),
        directory_server.authority(tenant.id),
        http=MsalHttpClient(verify=verify, timeout=15.0),
        instance_discovery=False,
    )
    graph = GraphClient(directory_server.url, tokens, http)
    intune = GraphClient(directory_server.url, tokens, http, scope=INTUNE_RESOURCE + "/.default")
    setup = IntuneSetup(graph, intune, tenant.id, None, "https://p.example/enroll", "https://p.example/remediate")
    registry = ChannelRegistry()
    registry.register(IntuneChannel(setup, mdm, poll_seconds=0.05, timeout_seconds=15))
    gate = DirectoryGate(sessions, graph, mdm, tenant.id, interval=dt.timedelta(minutes=15))
    ctx = DeliveryContext(
        sessions=sessions,
        mdm=mdm,
        channels=registry,
        policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.2, max_attempts=3),
        owner="scope-test",
        rng=random.Random(3),
        gate=gate,
    )
    built = ScopeWorld(directory_server, partner, mdm, live_mdm.url, ctx, gate, exclude_group_id)
    try:
        yield built
    finally:
        built.pool.shutdown()
        mdm.close()
        http.close()
        engine.dispose()


def test_an_excluded_user_is_reported_after_the_scheduled_sync_sees_the_exclusion_end(world: ScopeWorld) -> None:
    megan = world.tenant.user
    add_group_member(world.directory, world.exclude_group_id, megan.id)
    start = utcnow()
    first = world.gate.run_due(start)
    assert first is not None and first.trigger == "schedule" and first.first

    device = world.enrol(megan.upn, world.partner.device_id)
    world.drive()
    state, reason = world.item(device)
    assert state == "held"
    assert reason == (
        f"user {megan.upn} is not in the compliance partner's scope for iOS "
        f"(excluded by group 'Contractors' ({world.exclude_group_id}))"
    )
    log = world.mdm.ca_log(device)
    assert [e.request_summary for e in log] == [f"not reported: {reason}"]
    assert world.directory_device(world.partner.device_id) == (None, None)

    with world.directory.session() as session:  # the admin takes Megan out of the exclusion group
        session.execute(
            delete(GroupMember).where(GroupMember.group_id == world.exclude_group_id, GroupMember.member_id == megan.id)
        )
        session.commit()
    assert world.gate.run_due(start + dt.timedelta(minutes=5)) is None  # nobody asked, not due yet
    report = world.gate.run_due(start + dt.timedelta(minutes=16))
    assert report is not None and report.trigger == "schedule"
    assert [(c.kind, c.subject) for c in report.changes] == [("userAdded", megan.upn)]
    assert report.requeued == [device]

    world.drive()
    assert world.item(device) == ("delivered", None)
    managed, _compliant = world.directory_device(world.partner.device_id)
    assert managed is True
    assert any("DataUploadMessages" in e.request_summary for e in world.mdm.ca_log(device))


def test_a_user_without_an_intune_licence_gets_the_reason_in_the_ca_log(world: ScopeWorld) -> None:
    alex_id = add_user(world.directory, world.tenant, "alex", licensed=False)
    add_group_member(world.directory, world.partner.group_id, alex_id)
    _object_id, entra_id = add_device(world.directory, world.tenant.id, alex_id)
    upn = f"alex@{world.tenant.domain}"
    world.mdm.set_directory_services({"entraIntegrationEnabled": True, "directoryId": world.tenant.id})
    world.mdm.request_directory_sync()
    asked = world.gate.run_due(utcnow())
    assert asked is not None and asked.trigger == "request"

    device = world.enrol(upn, entra_id)
    world.drive()
    reason = f"user {upn} has no Intune licence (INTUNE_A)"
    assert world.item(device) == ("held", reason)
    entry = world.mdm.ca_log(device)[-1]
    assert entry.request_summary == f"not reported: {reason}" and entry.channel == "posturebridge partner"

    with world.directory.session() as session:  # the licence is assigned; the admin syncs in the MDM
        session.add(UserLicense(user_id=alex_id, sku_id=INTUNE_SKU, disabled_plans=[]))
        session.commit()
    world.mdm.request_directory_sync()
    again = world.gate.run_due(utcnow())
    assert again is not None and again.trigger == "request"
    assert [(c.kind, c.subject) for c in again.changes] == [("licenceGained", upn)]
    world.drive()
    assert world.item(device) == ("delivered", None), [(e.request_summary, e.error) for e in world.mdm.ca_log(device)]


def test_one_entra_device_claimed_by_two_mdm_devices_is_delivered_for_neither(
    world: ScopeWorld, live_mdm: LiveMdm
) -> None:
    """Our MDM refuses a second link to one Entra device within an organisation, so the second link is
    written to its database directly: the partner must not rely on every MDM refusing it."""
    world.gate.run_due(utcnow())
    megan = world.tenant.user
    first = world.enrol(megan.upn, world.partner.device_id, serial="SERIAL-A")
    second = world.enrol(megan.upn, str(uuid.uuid4()), serial="SERIAL-B")
    with unit_of_work(sessionmaker(live_mdm.engine)) as session:
        row = session.get(DeviceRow, second)
        assert row is not None
        row.entra_device_id = world.partner.device_id
        session.commit()
    delivery.resynchronise(world.ctx)  # as after a pruned feed: every device as the MDM lists it
    world.drive()
    for mine, other in ((first, second), (second, first)):
        state, reason = world.item(mine)
        assert state == "held"
        assert reason == f"Entra device {world.partner.device_id} is also linked to MDM device {other}"
    assert {device: kind for device, (kind, _) in world.conflicts().items()} == {
        first: link.DUPLICATE,
        second: link.DUPLICATE,
    }
    assert world.directory_device(world.partner.device_id) == (None, None)

    world.gate.sync(utcnow())  # the listing adds serial numbers to the map
    with unit_of_work(world.ctx.sessions) as session:
        serials = {row.device_id: row.serial_number for row in link.conflicts(session)}
    assert serials == {first: "SERIAL-A", second: "SERIAL-B"}


def test_a_device_deleted_in_the_directory_is_held_not_retried(world: ScopeWorld) -> None:
    world.gate.run_due(utcnow())
    device = world.enrol(world.tenant.user.upn, world.partner.device_id)
    world.drive()
    assert world.item(device) == ("delivered", None)

    with world.directory.session() as session:
        session.execute(
            delete(DeviceRegisteredPrincipal).where(
                DeviceRegisteredPrincipal.device_object_id == world.partner.device_object_id
            )
        )
        session.execute(delete(Device).where(Device.id == world.partner.device_object_id))
        session.commit()
    graph = world.gate.graph
    repair = reconcile(world.ctx.sessions, world.mdm, graph, world.ctx.channels, utcnow(), dry_run=False)
    assert repair.queued == 1
    world.drive()  # the upload fails at Intune with DeviceNotFound: held, not retried, not dead
    detail = f"Entra device {world.partner.device_id} was deleted in the directory"
    assert world.item(device) == ("held", detail)
    assert world.conflicts() == {device: (link.DELETED, detail)}
    assert f"not reported: {detail}" in [entry.request_summary for entry in world.mdm.ca_log(device)]


def test_a_device_registered_by_another_user_is_not_reported(world: ScopeWorld) -> None:
    world.gate.run_due(utcnow())
    admin = world.tenant.admin
    _object_id, entra_id = add_device(world.directory, world.tenant.id, admin.id)
    device = world.enrol(world.tenant.user.upn, entra_id)
    world.drive()
    detail = f"Entra device {entra_id} is registered to {admin.upn}, not to the enrolled user {world.tenant.user.upn}"
    assert world.item(device) == ("held", detail)
    assert world.conflicts() == {device: (link.OTHER_OWNER, detail)}
    assert world.directory_device(entra_id) == (None, None)  # fail closed: never reported compliant


def test_the_worker_syncs_at_start_and_answers_the_mdm_admins_sync_request(world: ScopeWorld) -> None:
    world.gate.poll_seconds = 0.1

    def syncs() -> list[tuple[str, str | None]]:
        with unit_of_work(world.ctx.sessions) as session:
            return [(row.trigger, row.request_id) for row in session.scalars(select(DirectorySync))]

    worker = Worker(world.ctx, feed_wait=0.2, idle=0.1)
    worker.start()
    try:
        wait_until(lambda: syncs() == [("schedule", None)], 30, "the first scheduled sync")
        world.mdm.set_directory_services({"entraIntegrationEnabled": True, "directoryId": world.tenant.id})
        asked = world.mdm.request_directory_sync()
        wait_until(lambda: ("request", asked.id) in syncs(), 30, "the sync the admin asked for")
        assert len(syncs()) == 2  # one sync per request, and the schedule is not due again
    finally:
        worker.stop()
