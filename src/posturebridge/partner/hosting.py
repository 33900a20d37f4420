"""The partner service hosts delivery for every enabled organisation: one :class:`Worker` per organisation,
started when the organisation is enabled (no restart needed), stopped gracefully with the service, and the
Intune heartbeat of each tenant while it is enabled.

Each organisation has its own queue database (``PartnerSettings.org_database_url``, default a SQLite file
per registration in the data directory): the queue, the feed cursor and the call records of one
organisation never mix with another's, and the CLI commands (dead letters, reconcile) work on one of them
as on the single environment-configured organisation. The registrations themselves live in the service's
own partner database.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.mdm.client import MdmClient
from posturebridge.partner import onboarding, tenancy
from posturebridge.partner.channels import INTUNE, WINDOWS, ChannelRegistry
from posturebridge.partner.channels.intune import IntuneChannel, IntuneSetup
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.gate import directory_gate
from posturebridge.partner.graph_client import GraphError, MsalHttpClient
from posturebridge.partner.onboarding import EnabledOrganisation
from posturebridge.partner.pacing import Pacer, Pacers
from posturebridge.partner.publisher import PublisherSource
from posturebridge.partner.retry import RetryPolicy
from posturebridge.partner.settings import PartnerSettings
from posturebridge.partner.shadow import channels_for_mode
from posturebridge.partner.worker import Worker

log = logging.getLogger(__name__)


def org_database_url(settings: PartnerSettings, registration_id: str) -> str:
    if settings.org_database_url:
        return settings.org_database_url.replace("{registration}", registration_id.replace("-", ""))
    directory = settings.data_dir.expanduser().resolve()
    return f"sqlite:///{directory / f'partner-org-{registration_id}.db'}"


@dataclass
class Clients:
    """HTTP clients of one organisation's connection (closed with it)."""

    http: httpx.Client
    token_http: httpx.Client

    @classmethod
    def open(cls, publisher: tenancy.Publisher, settings: PartnerSettings) -> Clients:
        verify = publisher.verify()
        size = settings.concurrency * 2
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        timeout = settings.request_timeout_seconds
        return cls(
            httpx.Client(verify=verify, timeout=timeout, limits=limits, trust_env=False),
            MsalHttpClient(verify=verify, timeout=timeout, trust_env=False),
        )

    def close(self) -> None:
        self.http.close()
        self.token_http.close()


def complete_setup(
    settings: PartnerSettings, publisher: tenancy.Publisher, tenant_id: str, platforms: list[str]
) -> tuple[IntuneSetup | None, str | None]:
    """Check the consent and activate the Intune partner tenant; (setup, None) or (None, the reason)."""
    clients = Clients.open(publisher, settings)
    try:
        connection = tenancy.connect(publisher, tenant_id, clients.http, clients.token_http)
        tenancy.check_consent(connection)
        intune = [p for p in platforms if p in onboarding.INTUNE_PLATFORMS]
        setup = tenancy.activate(connection, intune, settings.enrollment_url, settings.remediation_url)
        return setup, None
    except GraphError as exc:
        return None, str(exc)
    finally:
        clients.close()


@dataclass
class HostedOrganisation:
    organisation: EnabledOrganisation
    engine: Engine
    mdm: MdmClient
    clients: Clients
    setup: IntuneSetup
    worker: Worker
    next_heartbeat: float = 0.0

    def stop(self, timeout: float) -> None:
        self.worker.stop(timeout)
        self.mdm.close()
        self.clients.close()
        self.engine.dispose()


@dataclass
class OrganisationHost:
    """Keeps one running worker per enabled registration; ``refresh`` is safe to call at any time."""

    sessions: sessionmaker[Session]
    settings: PartnerSettings
    publishers: PublisherSource
    clock: Callable[[], dt.datetime] = utcnow
    running: dict[str, HostedOrganisation] = field(default_factory=dict)
    pacers: Pacers | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="partner-organisations", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the registrations now (an organisation was just enabled)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for hosted in self.running.values():
                hosted.stop(timeout)
            self.running.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a database hiccup must not end hosting; the next round tries again
                log.exception("hosting the enabled organisations failed; retrying")
            self._wake.wait(self.settings.hosting_interval_seconds)
            self._wake.clear()

    def refresh(self) -> None:
        """Start workers for newly enabled organisations, stop the others, send due heartbeats."""
        publisher = self.publishers.get()
        if publisher is None:
            return
        with unit_of_work(self.sessions) as session:
            wanted = {row.registration_id: row for row in onboarding.enabled(session)}
        with self._lock:
            if self._stop.is_set():
                return
            gone = [r for r, h in self.running.items() if wanted.get(r) != h.organisation]  # gone or changed
            for registration_id in gone:
                self.running.pop(registration_id).stop(30.0)
            for registration_id, row in wanted.items():
                if registration_id in self.running:
                    continue
                try:
                    self.running[registration_id] = self._start(publisher, row)
                except Exception:  # one organisation's broken database must not keep the others from starting
                    log.exception("starting delivery for organisation %s failed; retrying", row.mdm_organisation_id)
            due = [hosted for hosted in self.running.values() if hosted.next_heartbeat <= time.monotonic()]
        for hosted in due:
            hosted.next_heartbeat = time.monotonic() + self.settings.heartbeat_seconds
            error = tenancy.heartbeat(hosted.setup)
            if error:
                log.warning("heartbeat for tenant %s failed: %s", hosted.organisation.tenant_id, error)
            with unit_of_work(self.sessions) as session:
                onboarding.heartbeat_sent(session, hosted.organisation.registration_id, self.clock(), error)
                session.commit()

    def _pacer(self, tenant_id: str, channel: str) -> Pacer | None:
        """The (tenant, channel) pacer every organisation of the tenant shares; None with pacing off."""
        pacing = self.settings.pacing()
        if pacing is None:
            return None
        if self.pacers is None:
            self.pacers = Pacers(pacing)
        return self.pacers.get(tenant_id, channel)

    def _start(self, publisher: tenancy.Publisher, row: EnabledOrganisation) -> HostedOrganisation:
        settings = self.settings
        engine = make_engine(org_database_url(settings, row.registration_id))
        migrate(engine, "partner")
        clients = Clients.open(publisher, settings)
        connection = tenancy.connect(publisher, row.tenant_id, clients.http, clients.token_http)
        setup = IntuneSetup(
            connection.graph,
            connection.intune,
            row.tenant_id,
            None,
            settings.enrollment_url,
            settings.remediation_url,
        )
        mdm = MdmClient.with_client_credentials(row.mdm_url, row.mdm_client_id, row.mdm_client_secret)
        routes = {p: WINDOWS if p == onboarding.WINDOWS_PLATFORM else INTUNE for p in row.platforms}
        channels = ChannelRegistry(routes=routes)
        if onboarding.WINDOWS_PLATFORM in routes:
            channels.register(WindowsChannel(connection.graph, pacer=self._pacer(row.tenant_id, WINDOWS)))
        channels.register(
            IntuneChannel(
                setup,
                mdm,
                poll_seconds=settings.message_poll_seconds,
                timeout_seconds=settings.message_timeout_seconds,
            )
        )
        sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        channels = channels_for_mode(settings.shadow_mode, channels, connection.graph, sessions, self.clock())
        context = DeliveryContext(
            sessions=sessions,
            mdm=mdm,
            channels=channels,
            policy=RetryPolicy(settings.backoff_base_seconds, settings.backoff_cap_seconds, settings.max_attempts),
            owner=f"{socket.gethostname()}:{os.getpid()}:{row.registration_id[:8]}",
            concurrency=settings.concurrency,
            lease=dt.timedelta(seconds=settings.lease_seconds),
            feed_page_size=settings.feed_page_size,
            gate=directory_gate(settings, sessions, connection.graph, mdm, row.tenant_id),
        )
        worker = Worker(context, feed_wait=settings.feed_wait_seconds, idle=settings.idle_seconds)
        worker.start()
        log.info("delivering for organisation %s (tenant %s)", row.mdm_organisation_id, row.tenant_id)
        return HostedOrganisation(row, engine, mdm, clients, setup, worker)
