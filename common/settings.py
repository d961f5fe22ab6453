"""Settings every service shares; each service subclasses with its own env prefix (INTAKE_, …)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .auth import DEV_SECRET


class ProcessSettings(BaseSettings):
    """What every process (gateway and services) is configured with: its mode, logs and token checks."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="`production` refuses embedded defaults (SQLite, a fixed clock, the dev secret)")
    log_level: str = Field("info", description="Log level of the JSON logs on stdout")
    jwt_secret: SecretStr = Field(SecretStr(DEV_SECRET),
                                  description="HS256 secret shared by the gateway's issuer and every service")
    jwt_issuer: str = Field("fundflow", description="Expected `iss` of tokens")
    jwt_audience: str = Field("fundflow-api", description="Expected `aud` of tokens")
    oidc_jwks_url: str | None = Field(None, description="JWKS URL of an external OpenID Connect provider (production)")
    otel_endpoint: str | None = Field(None, description="OTLP/HTTP collector base URL (e.g. http://otel-collector:4318)"
                                                        "; OpenTelemetry tracing is off when unset")
    otel_sample_ratio: float = Field(1.0, ge=0, le=1, description="Share of new traces kept (a caller's sampled "
                                                                  "trace is always continued)")

    @model_validator(mode="after")
    def _production_refuses_the_dev_secret(self):
        if self.environment == "production" and self.jwt_secret.get_secret_value() == DEV_SECRET:
            raise ValueError("production refuses the development JWT secret: set jwt_secret")
        return self


class ServiceSettings(ProcessSettings):
    """Common settings of the four services; safe defaults run the embedded mode with no configuration at all."""

    data_dir: Path = Field(Path("data"), description="Folder for the embedded SQLite file and local files")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; default: SQLite under data_dir")
    db_pool_size: int = Field(10, description="Connections kept in the database pool (PostgreSQL)")
    migrate_on_start: bool = Field(True, description="Apply Alembic migrations when the process starts")
    fixed_now: datetime | None = Field(
        None, description="Fix the clock to this instant (tests, demos, replaying a past edition); not in production")

    def sqlite_name(self) -> str:
        """File name of the embedded database; overridden by each service."""
        raise NotImplementedError

    def resolved_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / self.sqlite_name()).resolve()}"

    @model_validator(mode="after")
    def _production_has_no_embedded_defaults(self):
        if self.environment == "production":
            if not self.database_url or self.database_url.startswith("sqlite"):
                raise ValueError("production needs a database_url of a server database, not the embedded SQLite")
            if self.fixed_now is not None:
                raise ValueError("production must run on the real clock: unset fixed_now")
        return self


class ExpressLaneSettings(BaseSettings):
    """The switch of a service's express lane (common/express.py), for the services that have one."""

    express_lanes: bool = Field(True, description="Answer pre-checks in the express lane (common/express.py); off: "
                                                 "every request takes its FastAPI route, which answers the same")
