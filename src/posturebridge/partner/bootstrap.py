"""The partner delivery's composition root: engine, MDM client, Graph clients, channels, built from settings.

Nothing here runs at import time; tests build the same pieces with their own clock, transports and
databases.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate
from posturebridge.common.errors import StartupError
from posturebridge.mdm.client import MdmClient
from posturebridge.partner.channels import ChannelRegistry
from posturebridge.partner.channels.intune import IntuneChannel, IntuneSetup
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.gate import directory_gate
from posturebridge.partner.graph_client import Credential, GraphClient, MsalHttpClient, MsalTokens
from posturebridge.partner.pacing import Pacer
from posturebridge.partner.retry import RetryPolicy
from posturebridge.partner.settings import AUTHORITY_HOST, PartnerSettings
from posturebridge.partner.shadow import channels_for_mode


@dataclass
class Runtime:
    engine: Engine
    context: DeliveryContext
    graph: GraphClient | None
    http: list[httpx.Client]

    def close(self) -> None:
        self.context.mdm.close()
        for client in self.http:
            client.close()
        self.engine.dispose()


def verify_for(settings: PartnerSettings) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=str(settings.ca_bundle)) if settings.ca_bundle else True


def mdm_client(settings: PartnerSettings) -> MdmClient:
    if settings.mdm_client_id and settings.mdm_client_secret:
        return MdmClient.with_client_credentials(settings.mdm_url, settings.mdm_client_id, settings.mdm_client_secret)
    if settings.mdm_api_key:
        return MdmClient.with_api_key(settings.mdm_url, settings.mdm_api_key)
    raise StartupError("the partner needs MDM API credentials: POSTUREBRIDGE_PARTNER_MDM_CLIENT_ID/_SECRET or _API_KEY")


def graph_client(
    settings: PartnerSettings, credential: Credential, http: httpx.Client, token_http: httpx.Client
) -> GraphClient:
    if not settings.tenant_id:
        raise StartupError("POSTUREBRIDGE_PARTNER_TENANT_ID (the Entra tenant id) is not set")
    tokens = MsalTokens(
        credential,
        f"{settings.authority_host.rstrip('/')}/{settings.tenant_id}",
        http=token_http,
        instance_discovery=settings.authority_host.rstrip("/") == AUTHORITY_HOST,
    )
    return GraphClient(settings.graph_url, tokens, http)


def build(
    settings: PartnerSettings, database_url: str, *, owner: str | None = None, migrate_first: bool = True
) -> Runtime:
    """Everything the worker, reconcile and the dead-letter commands need."""
    engine = make_engine(database_url)
    if migrate_first:
        migrate(engine, "partner")
    sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
    mdm = mdm_client(settings)
    verify = verify_for(settings)
    limits = httpx.Limits(max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency * 2)
    http = httpx.Client(verify=verify, timeout=settings.request_timeout_seconds, limits=limits, trust_env=False)
    token_http = MsalHttpClient(verify=verify, timeout=settings.request_timeout_seconds, trust_env=False)
    clients = [http, token_http]
    registry = ChannelRegistry()
    graph: GraphClient | None = None
    if settings.client_id and settings.tenant_id:
        partner = Credential(
            settings.client_id, settings.client_secret, settings.certificate_path, settings.certificate_thumbprint
        )
        graph = graph_client(settings, partner, http, token_http)
        intune = graph_client(settings, partner, http, token_http)
        intune.scope = settings.intune_resource + "/.default"
        setup = IntuneSetup(
            graph, intune, settings.tenant_id, settings.intune_group, settings.enrollment_url, settings.remediation_url
        )
        registry.register(
            IntuneChannel(
                setup,
                mdm,
                poll_seconds=settings.message_poll_seconds,
                timeout_seconds=settings.message_timeout_seconds,
            )
        )
    windows_id = settings.windows_client_id or settings.client_id
    if windows_id and settings.tenant_id:
        windows = Credential(
            windows_id,
            settings.windows_client_secret if settings.windows_client_id else settings.client_secret,
            settings.windows_certificate_path if settings.windows_client_id else settings.certificate_path,
            settings.windows_certificate_thumbprint if settings.windows_client_id else settings.certificate_thumbprint,
        )
        windows_graph = graph_client(settings, windows, http, token_http)
        pacing = settings.pacing()
        pacer = Pacer(pacing) if pacing is not None else None
        registry.register(WindowsChannel(windows_graph, pacer=pacer))
        graph = graph or windows_graph
    registry = channels_for_mode(settings.shadow_mode, registry, graph, sessions, utcnow())
    policy = RetryPolicy(settings.backoff_base_seconds, settings.backoff_cap_seconds, settings.max_attempts)
    context = DeliveryContext(
        sessions=sessions,
        mdm=mdm,
        channels=registry,
        policy=policy,
        owner=owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        concurrency=settings.concurrency,
        lease=dt.timedelta(seconds=settings.lease_seconds),
        feed_page_size=settings.feed_page_size,
    )
    if graph is not None and settings.tenant_id:
        context.gate = directory_gate(settings, sessions, graph, mdm, settings.tenant_id)
    return Runtime(engine, context, graph, clients)
