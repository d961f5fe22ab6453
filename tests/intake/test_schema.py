"""Intake's migrations build exactly the schema its models declare, and undo and redo cleanly."""
from __future__ import annotations

from ..eligibility.test_schema import check_schema


def test_intake_migrations_build_the_schema_its_models_declare():
    check_schema("intake")
