"""Alembic environment of the directory database."""

from posturebridge.common.migration_env import run_migrations
from posturebridge.directory.models import Base

run_migrations(Base.metadata)
