"""The calculation service's migrations build exactly the schema its models declare."""
from __future__ import annotations

from ..eligibility.test_schema import check_schema


def test_calculation_migrations_build_the_schema_its_models_declare():
    check_schema("calculation")
