"""Composition root of the directory (the Entra ID / Microsoft Graph stand-in)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from posturebridge.common.settings import Settings
from posturebridge.common.web import service_app
from posturebridge.directory.auth import pages as auth_pages
from posturebridge.directory.auth import routes as auth_routes
from posturebridge.directory.context import Directory
from posturebridge.directory.graph import routes as graph_routes
from posturebridge.directory.graph.fastpath import DeviceLookups
from posturebridge.directory.intune import routes as intune_routes
from posturebridge.directory.registration import routes as registration_routes


def create_app(
    settings: Settings, engine: Engine, directory: Directory | None = None, *, fast_paths: bool = True
) -> FastAPI:
    """The directory app. ``fast_paths=False`` leaves every request to the routes (tests compare the two)."""
    directory = directory or Directory.build(settings, sessionmaker(engine, expire_on_commit=False))
    app = service_app("posturebridge directory", settings, engine)
    app.state.directory = directory
    app.include_router(auth_routes.router(directory))
    graph_routes.install(app, directory)
    intune_routes.install(app, directory)
    app.include_router(auth_pages.router(directory))
    app.include_router(registration_routes.router(directory))
    if fast_paths:
        app.add_middleware(DeviceLookups, directory=directory, engine=engine)
    return app
