"""Gateway settings (env prefix GATEWAY_)."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "eligibility", "calculation", "disbursement")


class GatewaySettings(BaseSettings):
    """Where the services are and how long to wait for them."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    intake_url: str = Field("http://127.0.0.1:8001", description="Base URL of the intake service")
    eligibility_url: str = Field("http://127.0.0.1:8002", description="Base URL of the eligibility service")
    calculation_url: str = Field("http://127.0.0.1:8003", description="Base URL of the calculation service")
    disbursement_url: str = Field("http://127.0.0.1:8004", description="Base URL of the disbursement service")
    connect_timeout_s: float = Field(2.0, description="Seconds to wait for a connection to a service")
    read_timeout_s: float = Field(30.0, description="Seconds a service may stay silent before the gateway answers 504")
    pool_size: int = Field(100, description="Keep-alive connections kept per service")
    log_level: str = Field("info", description="Log level of the JSON logs on stdout")

    def upstreams(self) -> dict[str, str]:
        """Service name → base URL."""
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}
