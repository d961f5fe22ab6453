"""Settings of the eligibility service (env prefix ELIGIBILITY_)."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.jobs import JobSettings
from common.settings import ExpressLaneSettings, ServiceSettings


class EligibilitySettings(ServiceSettings, JobSettings, ExpressLaneSettings):
    """Eligibility service settings."""

    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", extra="ignore")

    keep_prechecks: bool = Field(False, description="Keep pre-checks too (evaluations of submitted applications are "
                                                    "always kept); each kept one costs a database write")

    def sqlite_name(self) -> str:
        return "eligibility.db"
