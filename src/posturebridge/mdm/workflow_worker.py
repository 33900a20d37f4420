"""The workflow runner inside the MDM process: built by the app factory, run by its lifespan as a
background task (stopped with it), the rounds themselves in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import ssl

import httpx
from starlette.concurrency import run_in_threadpool

from posturebridge.common.settings import Settings
from posturebridge.mdm.api.context import MdmContext
from posturebridge.mdm.domain.workflows import RetryPolicy
from posturebridge.mdm.service.connectors import ConnectorCaller
from posturebridge.mdm.service.workflow_runner import WorkflowRunner

log = logging.getLogger(__name__)


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
    scheduled triggers every ``workflow_schedule_interval_seconds``. On cancellation the round in its
    thread finishes the run at hand; a process that dies mid-run leaves a lease that runs out."""
    loop = asyncio.get_running_loop()
    next_schedule = loop.time()
    try:
        while True:
            scheduled = loop.time() >= next_schedule
            try:
                await run_in_threadpool(runner.run_once, context.now(), scheduled=scheduled)
                if scheduled:
                    next_schedule = loop.time() + context.config.workflow_schedule_interval_seconds
            except asyncio.CancelledError:
                raise
            except Exception:  # keep running; a database hiccup must not stop notifications and connectors
                log.exception("workflow round failed; retrying")
            await asyncio.sleep(context.config.workflow_interval_seconds)
    finally:
        runner.caller.close()
