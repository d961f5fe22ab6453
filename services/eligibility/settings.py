"""Settings of the eligibility service (env prefix ELIGIBILITY_)."""
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """Eligibility service settings."""

    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", extra="ignore")

    def sqlite_name(self) -> str:
        return "eligibility.db"
