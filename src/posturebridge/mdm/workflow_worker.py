"""The workflow runner inside the MDM process: built by the app factory, run by its lifespan as a
background task (stopped with it), the rounds themselves in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import ssl
from contextlib import suppress

import httpx
from starlette.concurrency import run_in_threadpool

from posturebridge.common.settings import Settings
from posturebridge.mdm.api.context import MdmContext
from posturebridge.mdm.domain.workflows import RetryPolicy
from posturebridge.mdm.service.connectors import ConnectorCaller
from posturebridge.mdm.service.workflow_runner import WorkflowRunner

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 10.0


def build_runner(settings: Settings, context: MdmContext, http: httpx.Client | None = None) -> WorkflowRunner:
    """``http`` is the client custom connectors call out with (default: the system's CAs plus the data
    directory's local CA, so the embedded directory's Graph is trusted)."""
    if http is None:
        trust = ssl.create_default_context()
        if settings.ca_bundle.exists():
            trust.load_verify_locations(cafile=str(settings.ca_bundle))
        http = httpx.Client(verify=trust, timeout=30.0, trust_env=False)
    config = context.config
    retry = RetryPolicy(
        config.connector_retry_base_seconds, config.connector_retry_cap_seconds, config.connector_max_attempts
    )
    return WorkflowRunner(context.sessions, ConnectorCaller(http), retry)


async def run_workflows(context: MdmContext, runner: WorkflowRunner) -> None:
    """Rounds until cancelled: queued runs and feed transitions every ``workflow_interval_seconds``,
    scheduled triggers every ``workflow_schedule_interval_seconds``.

    On cancellation (the app stopping) the round in progress claims nothing more and finishes the runs
    it holds (up to ``STOP_GRACE_SECONDS``) before the HTTP client closes; a process that dies mid-run
    leaves leases that run out, and other processes take those runs again."""
    loop = asyncio.get_running_loop()
    next_schedule = loop.time()
    try:
        while True:
            scheduled = loop.time() >= next_schedule
            work = asyncio.ensure_future(run_in_threadpool(runner.run_once, context.now(), scheduled=scheduled))
            try:
                await asyncio.shield(work)
                if scheduled:
                    next_schedule = loop.time() + context.config.workflow_schedule_interval_seconds
            except asyncio.CancelledError:
                runner.stop()
                with suppress(Exception):
                    await asyncio.wait_for(work, STOP_GRACE_SECONDS)
                raise
            except Exception:  # keep running; a database hiccup must not stop notifications and connectors
                log.exception("workflow round failed; retrying")
            await asyncio.sleep(context.config.workflow_interval_seconds)
    finally:
        runner.caller.close()
