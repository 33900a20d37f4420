"""``GET /api/v1/feed``: the organisation's change feed, long-polled.

The reader passes the last sequence it processed as ``after``; entries come in sequence order without
holes. With ``wait`` the call holds until an entry arrives or the wait ends. A position older than
retention is answered with 410 ``feedPositionExpired``: the consumer must resynchronise.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api import render
from posturebridge.mdm.api.context import MdmContext, org_auth
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.credentials import OrgPrincipal

MAX_WAIT_SECONDS = 60.0


def router(context: MdmContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["feed"])
    Principal = Annotated[OrgPrincipal, Depends(org_auth(context))]

    def _read(organisation_id: str, after: int, limit: int) -> schemas.FeedPageOut:
        with unit_of_work(context.sessions) as session:
            page = feed.read(session, organisation_id, after, limit)
            return schemas.FeedPageOut(
                entries=[render.feed_entry(e) for e in page.entries],
                next_after=page.next_after,
                last_sequence=page.last_sequence,
                has_more=page.has_more,
            )

    @api.get("/feed", response_model=schemas.FeedPageOut)
    async def read_feed(
        principal: Principal,
        after: Annotated[int, Query(ge=0, description="the last sequence processed; 0 for the start")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="seconds to hold for new entries")] = 0,
    ) -> schemas.FeedPageOut:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            mark = context.notifier.mark()
            page = await run_in_threadpool(_read, principal.organisation_id, after, limit)
            remaining = deadline - loop.time()
            if page.entries or remaining <= 0:
                return page
            await context.notifier.wait(mark, min(remaining, context.config.feed_poll_interval_seconds))

    @api.get("/feed/position", response_model=schemas.FeedPositionOut)
    def position(principal: Principal) -> schemas.FeedPositionOut:
        """Where the feed is: read it before a resynchronising full listing, continue after it."""
        with unit_of_work(context.sessions) as session:
            last, pruned = feed.position(session, principal.organisation_id)
        return schemas.FeedPositionOut(last_sequence=last, pruned_through=pruned)

    return api
