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
    lease_sweep_interval_s: float = Field(
        1.0, gt=0, le=60, description="how often expired leases are returned to the pool"
    )
    handout_candidates: int = Field(
        200, ge=1, le=10_000, description="candidate items each replica keeps warm per project"
    )
    handout_profile_ttl_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="how long a replica reuses an expert's profile and roster for handouts",
    )
