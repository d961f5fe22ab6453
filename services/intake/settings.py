"""Settings of the intake service (env prefix INTAKE_)."""
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.jobs import JobSettings
from common.settings import ServiceSettings


class IntakeSettings(ServiceSettings, JobSettings):
    """Intake service settings; with no S3 endpoint, documents go to a local folder."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    eligibility_url: str = Field("http://127.0.0.1:8002", description="Base URL of the eligibility service")
    calculation_url: str = Field("http://127.0.0.1:8003", description="Base URL of the calculation service")
    call_timeout_s: float = Field(10.0, description="Seconds to wait for another service")
    s3_endpoint: str | None = Field(None, description="host:port of an S3-compatible server (MinIO); unset: local files")
    s3_access_key: str = Field("minioadmin", description="S3 access key")
    s3_secret_key: str = Field("minioadmin", description="S3 secret key")
    s3_bucket: str = Field("fundflow-documents", description="Bucket holding the evidence documents")
    s3_secure: bool = Field(False, description="Use HTTPS to reach the S3 server")
    s3_region: str = Field("us-east-1", description="Region name given to the S3 server")
    max_upload_bytes: int = Field(50 * 1024 * 1024, description="Largest evidence document accepted, in bytes")
    outbox_poll_s: float = Field(1.0, description="Seconds between outbox polls when idle")
    outbox_max_backoff_s: float = Field(60.0, description="Longest wait before retrying a failed evaluation")
    # 400 rather than 200: each batch's fixed costs (its calls, its transaction, its audit chain lock) spread over
    # twice the applications; an edition's 10,000 took 5–9 % less time and CPU, measured alternately
    outbox_batch: int = Field(400, ge=1, le=500, description="Applications evaluated and priced per call to "
                                                             "eligibility and calculation (their batch operations)")
    # three rather than two: with two, the machine sat ~16 % idle between one lane's store and another's answers;
    # an edition's 10,000 took ~3.5 % less wall time per CPU second with three, measured alternately
    outbox_lanes: int = Field(3, ge=1, le=8, description="Outbox batches in flight at once, each claimed, evaluated "
                                                          "and stored after the one before it in its lane")

    def sqlite_name(self) -> str:
        return "intake.db"
