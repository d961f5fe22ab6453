"""Settings of the calculation service (env prefix CALCULATION_)."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ExpressLaneSettings, ServiceSettings


class CalculationSettings(ServiceSettings, ExpressLaneSettings):
    """Calculation service settings."""

    model_config = SettingsConfigDict(env_prefix="CALCULATION_", extra="ignore")

    intake_url: str = Field("http://127.0.0.1:8001",
                            description="Base URL of the intake service (dossiers of applications priced by id)")
    call_timeout_s: float = Field(10.0, description="Seconds to wait for another service")
    keep_prechecks: bool = Field(False, description="Keep computations of pre-checks too (those of applications are "
                                                    "always kept); each kept one costs a database write")

    def sqlite_name(self) -> str:
        return "calculation.db"
