"""Alembic environment of the mdm database."""

from posturebridge.common.migration_env import run_migrations
from posturebridge.mdm.models import Base

run_migrations(Base.metadata)
