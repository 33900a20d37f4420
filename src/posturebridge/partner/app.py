"""Composition root of the compliance partner service: the onboarding API, the consent callback and the
hosted delivery workers of every enabled organisation (started and stopped with the app's lifespan)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool

from posturebridge.common.clock import utcnow
from posturebridge.common.settings import Settings
from posturebridge.common.web import service_app
from posturebridge.partner import publisher as publishing
from posturebridge.partner.api.routes import PartnerApi, install_errors, router
from posturebridge.partner.hosting import OrganisationHost
from posturebridge.partner.settings import PartnerSettings


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    partner: PartnerSettings | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> FastAPI:
    partner = partner or PartnerSettings(data_dir=settings.data_dir)
    sessions = sessionmaker(engine, expire_on_commit=False)
    publishers = publishing.PublisherSource(partner)
    host = OrganisationHost(sessions, partner, publishers, clock)
    api = PartnerApi(
        sessions=sessions,
        settings=partner,
        registration_key=publishing.registration_key(partner),
        publishers=publishers,
        default_url=settings.url("partner"),
        host=host,
        clock=clock,
    )
    app = service_app("posturebridge partner service", settings, engine, openapi_url="/api/v1/openapi.json")
    app.state.partner = api
    install_errors(app)
    app.include_router(router(api))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        host.start()
        try:
            yield
        finally:
            await run_in_threadpool(host.stop)

    app.router.lifespan_context = lifespan
    return app
