"""Settings of the ingest service (environment prefix ``QUORUM_INGEST_``, then ``QUORUM_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_INGEST_", extra="ignore")
    service_name: ClassVar[str] = "ingest"

    port: int = Field(8001, ge=1, le=65535)
