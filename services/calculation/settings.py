"""Settings of the calculation service (env prefix CALCULATION_)."""
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class CalculationSettings(ServiceSettings):
    """Calculation service settings."""

    model_config = SettingsConfigDict(env_prefix="CALCULATION_", extra="ignore")

    def sqlite_name(self) -> str:
        return "calculation.db"
