"""Settings of the console (environment prefix ``QUORUM_CONSOLE_``, then ``QUORUM_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings

#: the built console (``make web``): ``web/dist`` beside the services
DEFAULT_STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"
_URL = Field(max_length=2048, pattern=r"^https?://")


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_CONSOLE_", extra="ignore")
    service_name: ClassVar[str] = "console"

    port: int = Field(8000, ge=1, le=65535)
    static_dir: Path = Field(DEFAULT_STATIC_DIR, description="the built single-page app")
    ingest_url: str = Field("http://127.0.0.1:8001", max_length=2048, pattern=r"^https?://")
    assignment_url: str = Field("http://127.0.0.1:8002", max_length=2048, pattern=r"^https?://")
    metrics_url: str = Field("http://127.0.0.1:8003", max_length=2048, pattern=r"^https?://")
    taxonomy_url: str = Field("http://127.0.0.1:8004", max_length=2048, pattern=r"^https?://")
    media_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8005"],
        max_length=20,
        description="origins the pages may load media and waveform peaks from (the Content "
        "Security Policy's media sources: the media server, an object store's presign host)",
    )
    session_ttl_s: int = Field(
        8 * 3600, ge=60, le=7 * 24 * 3600, description="how long a development sign-in lasts"
    )
    upstream_timeout_s: float = Field(30.0, gt=0, le=600)

    @property
    def upstreams(self) -> dict[str, str]:
        return {
            "ingest": self.ingest_url,
            "assignment": self.assignment_url,
            "metrics": self.metrics_url,
            "taxonomy": self.taxonomy_url,
        }

    @property
    def secure_cookies(self) -> bool:
        """Session cookies only over HTTPS, but on a developer's machine."""
        return self.environment is Environment.production
