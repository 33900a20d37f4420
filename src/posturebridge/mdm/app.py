"""Composition root of the MDM service: engine, sessions and routers are wired here and nowhere else.

The app also runs the compliance sweep: a background task that re-evaluates devices whose next
evaluation is due (a validity period or grace period ending, the next escalation, a policy change) and
applies feed retention; and the workflow runner (``workflow_worker``: scheduled triggers, compliance
transitions from the feed, Hub notifications and custom connector calls). Every MDM process runs both;
they share the work through the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.common.keyfile import shared_key
from posturebridge.common.settings import Settings
from posturebridge.common.web import service_app
from posturebridge.mdm.api import admin, agent, compliance_page, compliance_partner, errors, inventory
from posturebridge.mdm.api import feed as feed_routes
from posturebridge.mdm.api import workflows as workflow_routes
from posturebridge.mdm.api.context import MdmContext
from posturebridge.mdm.api.fastpath import CheckIns
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import compliance, credentials, feed
from posturebridge.mdm.service.compliance import SWEEP_BATCH
from posturebridge.mdm.service.compliance_partner import CompliancePartnerLink
from posturebridge.mdm.service.workflow_runner import WorkflowRunner
from posturebridge.mdm.workflow_worker import build_runner, run_workflows
from posturebridge.partner.client import REGISTRATION_KEY_FILE, PartnerClient

log = logging.getLogger(__name__)
COMPLIANCE_PAGE_KEY_FILE = "mdm-compliance-page.key"


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    config: MdmConfig | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    connector_http: httpx.Client | None = None,
    fast_paths: bool = True,
) -> FastAPI:
    """The MDM app. ``fast_paths=False`` leaves every request to the routes (tests compare the two)."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    context = MdmContext(sessions=sessions, config=config or MdmConfig(), clock=clock)
    _watch_feed_commits(sessions, context)
    app = service_app("posturebridge MDM", settings, engine, openapi_url="/api/v1/openapi.json")
    app.state.mdm = context
    errors.install(app)
    app.include_router(admin.router(context))
    app.include_router(inventory.router(context))
    app.include_router(agent.router(context))
    app.include_router(feed_routes.router(context))
    app.include_router(compliance_partner.router(context, partner_link(settings, context)))
    app.include_router(workflow_routes.router(context))
    page_key = context.config.compliance_page_key or shared_key(settings.data_dir / COMPLIANCE_PAGE_KEY_FILE)
    app.include_router(compliance_page.router(context, page_key))
    app.state.workflows = runner = build_runner(settings, context, connector_http)
    app.router.lifespan_context = _lifespan(context, runner)
    if fast_paths:
        app.add_middleware(CheckIns, context=context, handlers=app.exception_handlers)
    return app


def partner_link(settings: Settings, context: MdmContext) -> CompliancePartnerLink:
    """The MDM's link to the compliance partner service (by default the one ``posturebridge up`` starts)."""
    config = context.config
    url = config.partner_url or settings.url("partner")

    def client() -> PartnerClient:
        key = config.partner_registration_key or shared_key(settings.data_dir / REGISTRATION_KEY_FILE)
        return PartnerClient(url, key)

    return CompliancePartnerLink(context.sessions, client, config.public_url or settings.url("mdm"), context.now)


def _watch_feed_commits(sessions: sessionmaker[Session], context: MdmContext) -> None:
    def after_commit(session: Session) -> None:
        if session.info.pop(feed.FEED_WRITTEN, False):
            context.notifier.notify_threadsafe()

    def after_rollback(session: Session) -> None:
        session.info.pop(feed.FEED_WRITTEN, None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_rollback", after_rollback)


def _lifespan(context: MdmContext, runner: WorkflowRunner) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        context.notifier.bind(asyncio.get_running_loop())
        tasks = [
            asyncio.create_task(_sweeper(context), name="mdm-compliance-sweep"),
            asyncio.create_task(run_workflows(context, runner), name="mdm-workflows"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            context.notifier.bind(None)

    return lifespan


def sweep_round(context: MdmContext) -> int:
    """Evaluate every device that is due now, in batches (each batch one transaction)."""
    total = 0
    while True:
        with unit_of_work(context.sessions) as session:
            count = compliance.sweep(session, context.now(), context.cache)
            session.commit()
        total += count
        if count < SWEEP_BATCH:
            return total


def housekeeping(context: MdmContext) -> None:
    """Feed retention and expired bearer tokens."""
    with unit_of_work(context.sessions) as session:
        feed.prune(session, context.now(), context.config.feed_retention)
        credentials.remove_expired_tokens(session, context.now())
        session.commit()


async def _sweeper(context: MdmContext) -> None:
    loop = asyncio.get_running_loop()
    next_housekeeping = loop.time()
    while True:
        try:
            await run_in_threadpool(sweep_round, context)
            if loop.time() >= next_housekeeping:
                await run_in_threadpool(housekeeping, context)
                next_housekeeping = loop.time() + context.config.feed_prune_interval_seconds
        except asyncio.CancelledError:
            raise
        except Exception:  # keep sweeping; a database hiccup must not stop compliance from expiring
            log.exception("compliance sweep failed; retrying")
        await asyncio.sleep(context.config.sweep_interval_seconds)
