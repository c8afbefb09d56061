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
    #: the agreement stream (docs/metrics.md "Live stream"): a heartbeat comment after this many
    #: seconds without an event; at most one event per subscriber per coalescing interval; the
    #: stream's longest life, after which the client reconnects with a fresh token
    stream_heartbeat_seconds: float = Field(15.0, gt=0)
    stream_coalesce_seconds: float = Field(0.25, ge=0)
    stream_max_seconds: float = Field(3600.0, gt=0)
    #: the owner of a project stores its changed agreement tallies at most this often
    snapshot_seconds: float = Field(0.2, gt=0, le=60)
