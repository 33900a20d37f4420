"""Composition root of the MDM service: engine, sessions and routers are wired here and nowhere else."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from posturebridge.common.settings import Settings
from posturebridge.common.web import service_app


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    return service_app("posturebridge MDM", settings, engine, openapi_url="/api/v1/openapi.json")
