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
    #: the Dawid-Skene batch lane recomputes each changed project this often
    #: (docs/metrics.md "Expert quality")
    dawid_skene_interval_seconds: float = Field(600.0, gt=0)
    #: the alert lane looks for changed projects this often; it evaluates one once it has been
    #: quiet (no change) this long, or changed for the longest wait; a drift window is this
    #: many resolved items (docs/metrics.md "The service: alerts, drift and priorities")
    alert_interval_seconds: float = Field(60.0, gt=0)
    alert_quiet_seconds: float = Field(30.0, ge=0)
    alert_max_wait_seconds: float = Field(600.0, ge=0)
    drift_window_items: int = Field(200, ge=1)
    #: gold outcomes an expert's accuracy drift detector holds before a drop is an alert
    #: (docs/metrics.md "Expert quality"); a program with little gold may lower it
    expert_drift_min_count: int = Field(100, ge=1, le=4_000)
