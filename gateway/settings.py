"""Gateway settings (env prefix GATEWAY_)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings

SERVICES = ("intake", "eligibility", "calculation", "disbursement")
DEV_ADMIN_PASSWORD = "admin-dev-password"


class GatewaySettings(ServiceSettings):
    """Where the services are, how long to wait for them, who may call, and how much."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    intake_url: str = Field("http://127.0.0.1:8001", description="Base URL of the intake service")
    eligibility_url: str = Field("http://127.0.0.1:8002", description="Base URL of the eligibility service")
    calculation_url: str = Field("http://127.0.0.1:8003", description="Base URL of the calculation service")
    disbursement_url: str = Field("http://127.0.0.1:8004", description="Base URL of the disbursement service")
    connect_timeout_s: float = Field(2.0, description="Seconds to wait for a connection to a service")
    read_timeout_s: float = Field(30.0, description="Seconds a service may stay silent before the gateway answers 504")
    pool_size: int = Field(100, description="Keep-alive connections kept per service")
    access_token_ttl_s: int = Field(900, description="Lifetime of an access token issued by the gateway")
    refresh_token_ttl_s: int = Field(8 * 3600, description="Lifetime of a refresh token")
    bootstrap_admin_password: SecretStr = Field(
        SecretStr(DEV_ADMIN_PASSWORD), description="Password of the `admin` user created when there is no user yet")
    users_file: Path | None = Field(None, description="YAML list of users (username, password_hash or password, "
                                                      "role, unit_uscc, district_code) loaded at start")
    rate_limit_per_s: float = Field(100.0, description="Requests per second allowed per token (or client address)")
    rate_limit_burst: int = Field(200, description="Requests a token may send at once before being limited")
    max_body_bytes: int = Field(1024 * 1024, description="Largest request body on ordinary API routes")
    max_upload_bytes: int = Field(256 * 1024 * 1024, description="Largest request body on upload routes")
    upload_routes: list[str] = Field(
        [r"^/api/v1/intake/applications/[^/]+/documents$", r"^/api/v1/[a-z]+/.*(import|statements|uploads?)[^/]*$",
         r"^/api/v1/disbursement/.*/evidence$"],
        description="Regular expressions of paths that take uploads (max_upload_bytes applies)")

    def sqlite_name(self) -> str:
        return "gateway.db"

    def upstreams(self) -> dict[str, str]:
        """Service name → base URL."""
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}

    @model_validator(mode="after")
    def _production_refuses_the_dev_admin_password(self):
        if self.environment == "production" and self.bootstrap_admin_password.get_secret_value() == DEV_ADMIN_PASSWORD:
            raise ValueError("production refuses the development admin password: set bootstrap_admin_password")
        return self
