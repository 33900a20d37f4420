"""The body of every part's Alembic ``env.py``: online migrations on the engine the runner passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, MetaData


def run_migrations(target_metadata: MetaData | None = None) -> None:
    config = context.config
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("posturebridge migrations run through posturebridge.common.database.migrate")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=config.get_main_option("version_table") or "alembic_version",
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
