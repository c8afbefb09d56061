"""Settings of the assignment service (environment prefix ``QUORUM_ASSIGNMENT_``, then ``QUORUM_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_ASSIGNMENT_", extra="ignore")
    service_name: ClassVar[str] = "assignment"

    port: int = Field(8002, ge=1, le=65535)
