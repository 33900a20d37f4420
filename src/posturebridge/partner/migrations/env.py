"""Alembic environment of the partner database."""

from posturebridge.common.migration_env import run_migrations
from posturebridge.partner.models import Base

run_migrations(Base.metadata)
