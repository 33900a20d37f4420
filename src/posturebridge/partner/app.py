"""Composition root of the compliance partner service."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from posturebridge.common.settings import Settings
from posturebridge.common.web import service_app


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    return service_app("posturebridge partner service", settings, engine)
