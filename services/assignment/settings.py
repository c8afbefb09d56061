"""Settings of the assignment service (environment prefix ``QUORUM_ASSIGNMENT_``, then ``QUORUM_``)."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.assignment.object_links import GCS_XML_API, object_presigner
from shared.media.presign import DEV_MEDIA_SECRET, MediaSigning
from shared.settings import Environment, ServiceSettings


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
    media_file_root: str | None = Field(
        None,
        max_length=4096,
        description="the absolute folder whose `file://` media are served by a media server "
        "checking signed links (development: the demo's `.local/demo-media`)",
    )
    media_file_base_url: str | None = Field(
        None,
        max_length=2048,
        description="the URL that folder is served at (development: http://127.0.0.1:8005)",
    )
    media_signing_secret: SecretStr = Field(
        SecretStr(DEV_MEDIA_SECRET),
        description="the secret the media server checks links with (refused in production "
        "when it is the development one)",
    )
    media_link_ttl_s: int = Field(
        3600, ge=60, le=7 * 24 * 3600, description="how long a handout's media links live"
    )
    media_pass_https: bool = Field(
        True, description="hand `https://` media to the browser as they are"
    )
    media_s3_presign: bool = Field(
        False,
        description="presign `s3://` media with boto3 (its credentials: environment or role)",
    )
    media_s3_endpoint_url: str | None = Field(
        None, max_length=2048, description="an S3-compatible endpoint (default: AWS's)"
    )
    media_s3_region: str | None = Field(None, max_length=64)
    media_gs_presign: bool = Field(
        False,
        description="presign `gs://` media through Cloud Storage's S3-compatible XML API "
        "(HMAC keys as boto3's credentials)",
    )

    def media_signing(self) -> MediaSigning:
        """How handouts link their media (object stores' presigners built here: once, at
        start)."""
        presigners = {}
        if self.media_s3_presign:
            presigners["s3"] = object_presigner(self.media_s3_endpoint_url, self.media_s3_region)
        if self.media_gs_presign:
            presigners["gs"] = object_presigner(GCS_XML_API, "auto")
        return MediaSigning(
            secret=self.media_signing_secret.get_secret_value().encode(),
            ttl_s=self.media_link_ttl_s,
            file_root=self.media_file_root,
            file_base_url=self.media_file_base_url,
            pass_https=self.media_pass_https,
            presigners=presigners,
        )

    @model_validator(mode="after")
    def _production_signs_with_its_own_secret(self) -> Self:
        if (
            self.environment is Environment.production
            and self.media_file_root
            and self.media_signing_secret.get_secret_value() == DEV_MEDIA_SECRET
        ):
            raise ValueError(
                "production signs media links with its own secret: set "
                "QUORUM_ASSIGNMENT_MEDIA_SIGNING_SECRET (the media server's)"
            )
        return self
