"""Settings of the metrics service (environment prefix ``QUORUM_METRICS_``, then ``QUORUM_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_METRICS_", extra="ignore")
    service_name: ClassVar[str] = "metrics"

    port: int = Field(8003, ge=1, le=65535)
