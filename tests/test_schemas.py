"""Every process's migrations build exactly the schema its models declare, on SQLite and PostgreSQL, and every
revision undoes and redoes cleanly (each process's tables live on a metadata of their own)."""
from __future__ import annotations

import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from common.db import make_engine, migrations_config


PROCESSES = {"gateway": "GatewayTable", "services.intake": "IntakeTable",
             "services.eligibility": "EligibilityTable", "services.calculation": "CalculationTable",
             "services.disbursement": "DisbursementTable"}


@pytest.mark.parametrize("package", sorted(PROCESSES))
def test_migrations_build_the_schema_the_models_declare(package, empty_database):
    db = importlib.import_module(f"{package}.db")
    metadata = getattr(importlib.import_module(f"{package}.models"), PROCESSES[package]).metadata
    engine = make_engine(empty_database)
    config = migrations_config(str(db.MIGRATIONS_DIR), db.VERSION_TABLE)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_name": lambda name, kind, _: name != db.VERSION_TABLE})
            diff = [d for d in compare_metadata(context, metadata) if not _checked_by_statement(d, connection, metadata)]
            assert diff == [], f"{package}: migrations and models differ: {diff}"
            assert _storage_parameters(connection, metadata) == _declared_storage(connection, metadata)
            command.downgrade(config, "base")  # every revision can be undone …
            assert set(inspect(connection).get_table_names()) <= {db.VERSION_TABLE}
            command.upgrade(config, "head")  # … and done again
            assert set(metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _declared_storage(connection, metadata) -> dict[str, set[str]]:
    """The PostgreSQL storage parameters each table declares (`postgresql_with`), as pg_class lists them."""
    if connection.dialect.name != "postgresql":
        return {}
    declared = {name: {f"{key}={value}" for key, value in (table.dialect_options["postgresql"]["with"] or {}).items()}
                for name, table in metadata.tables.items()}
    return {name: options for name, options in declared.items() if options}


def _storage_parameters(connection, metadata) -> dict[str, set[str]]:
    """The storage parameters the migrations gave the tables (none on SQLite, which has none)."""
    if connection.dialect.name != "postgresql":
        return {}
    rows = connection.exec_driver_sql("SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND relname = "
                                      "ANY(%(names)s) AND reloptions IS NOT NULL", {"names": list(metadata.tables)})
    return {name: set(options) for name, options in rows}


def _checked_by_statement(difference: tuple, connection, metadata) -> bool:
    """A foreign key the models declare that PostgreSQL enforces by statement triggers instead (named in its table's
    info; tests/disbursement/test_plan_references.py shows them enforced)."""
    if connection.dialect.name != "postgresql" or difference[0] != "add_fk":
        return False
    constraint = difference[1]
    declared = metadata.tables[constraint.table.name].info
    return constraint.name in declared.get("statement_checked_foreign_keys", ())
