"""HTTP pieces every service shares: the app skeleton and the health endpoint."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from posturebridge import __version__
from posturebridge.common.settings import Settings


def health_router(engine: Engine) -> APIRouter:
    """``GET /healthz``: 200 ``{"status":"ok"}`` while the service and its database answer, else 503."""
    router = APIRouter()

    def _ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        try:
            await run_in_threadpool(_ping)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "reason": "database"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return router


def service_app(title: str, settings: Settings, engine: Engine, **options: str) -> FastAPI:
    """A FastAPI app with the settings and engine on ``app.state`` and ``/healthz`` mounted."""
    app = FastAPI(title=title, version=__version__, **options)  # type: ignore[arg-type]
    app.state.settings = settings
    app.state.engine = engine
    app.include_router(health_router(engine))
    return app
