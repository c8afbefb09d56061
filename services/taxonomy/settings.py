"""Settings of the taxonomy service (environment prefix ``QUORUM_TAXONOMY_``, then ``QUORUM_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TaxonomySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_TAXONOMY_", extra="ignore")
    service_name: ClassVar[str] = "taxonomy"

    port: int = Field(8004, ge=1, le=65535)
