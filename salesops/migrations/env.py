"""Alembic environment: salesops' schemas, with the version table in `app`."""

from alembic import context

from salesops.models import Base
from salesops.models.raw import alembic_includes

config = context.config


def include_name(name, type_, parent_names):
    # Dagster, MLflow and dbt own their schemas; never diff them.
    if type_ == "schema":
        return name in ("app", "ops", "raw", "ml")
    return True


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_schemas=True,
        include_name=include_name,
        include_object=alembic_includes,
        version_table_schema="app",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
