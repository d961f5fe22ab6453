"""Settings of the disbursement service (env prefix DISBURSEMENT_)."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.jobs import JobSettings
from common.settings import ServiceSettings


class DisbursementSettings(ServiceSettings, JobSettings):
    """Disbursement service settings."""

    model_config = SettingsConfigDict(env_prefix="DISBURSEMENT_", extra="ignore")

    intake_url: str = Field("http://127.0.0.1:8001", description="Base URL of the intake service")
    calculation_url: str = Field("http://127.0.0.1:8003", description="Base URL of the calculation service")
    eligibility_url: str = Field("http://127.0.0.1:8002", description="Base URL of the eligibility service")
    call_timeout_s: float = Field(10.0, description="Seconds to wait for another service")
    bureau_account_name: str = Field("大连市商务局", description="Account name of the commerce bureau (first leg payee)")
    bureau_bank: str = Field("国家金库大连市中心支库", description="Bank of the commerce bureau's account")
    bureau_account_number: str = Field("0000000000000000", description="Account number of the commerce bureau")
    statement_max_bytes: int = Field(5 * 1024 * 1024, description="Largest bank statement file accepted (bytes)")

    def sqlite_name(self) -> str:
        """File name of the embedded database."""
        return "disbursement.db"
