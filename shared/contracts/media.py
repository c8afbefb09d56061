"""Event contracts of ingest: what clients publish to it, and what it publishes.

Consumers import these models; they are the single definition of the payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyUrl, ConfigDict, Field, UrlConstraints

from shared.contracts.spec import CLIENT_SYSTEMS, Contract, EventSpec, Topic
from shared.contracts.vocabulary import Count, Id, Label, Modality, Name, TaxonomyRef, TenantId

PRODUCER = "ingest"

MEDIA_REQUESTS = Topic(
    "quorum.media.requests",
    summary="Registration requests published by client systems (any CloudEvents producer), "
    "one topic per tenant: a request's tenant is its topic's, and the broker's ACLs decide "
    "who may write each",
    key="external id",
    per_tenant=True,
)
MEDIA = Topic(
    "quorum.media",
    summary="Outcome of each registration: registered (key: item id) or rejected (key: external id)",
    key="item id; external id for rejections",
)

MediaUri = Annotated[
    AnyUrl, UrlConstraints(allowed_schemes=["s3", "gs", "https", "file"], max_length=4096)
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lowercase hex sha256")]


class MediaFileBase(Contract):
    uri: MediaUri
    sha256: Sha256
    size_bytes: Count


class ImageFile(MediaFileBase):
    modality: Literal["image"] = "image"
    width: int = Field(ge=1, le=1_000_000)
    height: int = Field(ge=1, le=1_000_000)
    format: str = Field(min_length=1, max_length=32, description="e.g. jpeg, png, webp")


class VideoFile(MediaFileBase):
    modality: Literal["video"] = "video"
    duration_s: float = Field(gt=0, le=10**9)
    fps: float = Field(gt=0, le=10_000)
    frame_count: int = Field(ge=1, le=2**31)
    width: int = Field(ge=1, le=1_000_000)
    height: int = Field(ge=1, le=1_000_000)
    has_audio: bool = False


class AudioFile(MediaFileBase):
    modality: Literal["audio"] = "audio"
    duration_s: float = Field(gt=0, le=10**9)
    sample_rate_hz: int = Field(ge=1, le=10_000_000)
    channels: int = Field(ge=1, le=1024)


class TextFile(MediaFileBase):
    modality: Literal["text"] = "text"
    language: str = Field(min_length=2, max_length=35, description="BCP 47 tag")
    length_chars: Count


MediaFile = Annotated[ImageFile | VideoFile | AudioFile | TextFile, Field(discriminator="modality")]


class BundlePart(Contract):
    """One named part of a multimodal bundle, e.g. role ``edited_image``."""

    name: Id
    role: str = Field(min_length=1, max_length=64)
    media: MediaFile


class CaptureMetadata(Contract):
    device: str | None = Field(None, max_length=256)
    environment: str | None = Field(None, max_length=256)
    consent_ref: str | None = Field(None, max_length=256)
    captured_at: datetime | None = None
    tags: list[Annotated[str, Field(max_length=128)]] = Field(default_factory=list, max_length=100)


class PreLabels(Contract):
    model_name: str = Field(min_length=1, max_length=256)
    model_version: str = Field(min_length=1, max_length=128)
    labels: list[Label] = Field(default_factory=list, max_length=2_000)


class MediaRegistration(Contract):
    """What a client sends to register one media item (HTTP body or Kafka event data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: Id
    project_id: Id
    modality: Modality
    media: MediaFile | None = Field(None, description="the file, for a single-modality item")
    parts: list[BundlePart] | None = Field(
        None, description="named parts, for a multimodal bundle", max_length=64
    )
    capture: CaptureMetadata | None = None
    prelabels: PreLabels | None = None


class MediaRegisteredV1(Contract):
    item_id: Id
    tenant: TenantId
    external_id: Id
    project_id: Id
    modality: Modality
    media: MediaFile | None = None
    parts: list[BundlePart] | None = None
    capture: CaptureMetadata | None = None
    prelabels: PreLabels | None = None
    taxonomy: TaxonomyRef | None = None
    duplicate_of: Id | None = Field(None, description="item with the same checksum in the project")
    request_id: Name | None = None
    registered_at: datetime


#: Limits of a rejection: most reasons, longest field path and message.
MAX_REJECTION_REASONS = 1_000
MAX_REASON_FIELD = 1_000
MAX_REASON_MESSAGE = 10_000


class RejectionReason(Contract):
    field: Annotated[str, Field(max_length=MAX_REASON_FIELD)]
    message: Annotated[str, Field(max_length=MAX_REASON_MESSAGE)]

    @classmethod
    def all_of(cls, errors: Sequence[tuple[str, str]]) -> list[RejectionReason]:
        """Reasons for ``(field, message)`` errors that always fit a rejection: a field or
        message over its limit is cut with ``…``, and past :data:`MAX_REJECTION_REASONS` the
        last reason says how many more errors there were (the client fixes the first ones
        and sends the request again)."""

        def cut(text: str, limit: int) -> str:
            return text if len(text) <= limit else text[: limit - 1] + "…"

        kept = (
            errors if len(errors) <= MAX_REJECTION_REASONS else errors[: MAX_REJECTION_REASONS - 1]
        )
        reasons = [
            cls(field=cut(field, MAX_REASON_FIELD), message=cut(message, MAX_REASON_MESSAGE))
            for field, message in kept
        ]
        if len(kept) < len(errors):
            more = len(errors) - len(kept)
            reasons.append(
                cls(field="data", message=f"and {more} more errors (only the first are listed)")
            )
        return reasons


class MediaRejectedV1(Contract):
    external_id: Id
    tenant: TenantId
    project_id: str | None = Field(None, max_length=256)
    request_id: Name | None = None
    reasons: list[RejectionReason] = Field(min_length=1, max_length=MAX_REJECTION_REASONS)
    rejected_at: datetime


class RegistrationRequest(Contract):
    """How ingest reads a registration request whose data is not a valid
    :class:`MediaRegistration`: only ``external_id`` is needed (to key the rejection), so
    a bad request gets a ``media.rejected`` event naming every field, not a dead letter."""

    model_config = ConfigDict(extra="allow", frozen=True)

    external_id: Id


REGISTRATION_REQUESTED: EventSpec[MediaRegistration] = EventSpec(
    type="quorum.media.registration_requested.v1",
    topic=MEDIA_REQUESTS,
    payload=MediaRegistration,
    key=lambda d: d.external_id,
    producer=CLIENT_SYSTEMS,
    consumers=("ingest",),
    summary="A client asks to register one media item of the tenant whose topic it is "
    "published to; a `tenant` extension, if any, must name that tenant.",
    # ingest answers bad data with a rejection event naming every field, not a dead letter
    lenient=RegistrationRequest,
)


MEDIA_REGISTERED: EventSpec[MediaRegisteredV1] = EventSpec(
    type="quorum.media.registered.v1",
    topic=MEDIA,
    payload=MediaRegisteredV1,
    key=lambda d: d.item_id,
    subject=lambda d: d.item_id,
    producer=PRODUCER,
    consumers=("assignment", "metrics", "taxonomy"),
    summary="A media item was registered: the full item with its parts and pre-labels.",
)
MEDIA_REJECTED: EventSpec[MediaRejectedV1] = EventSpec(
    type="quorum.media.rejected.v1",
    topic=MEDIA,
    payload=MediaRejectedV1,
    key=lambda d: d.external_id,
    subject=lambda d: d.external_id,
    producer=PRODUCER,
    # clients cannot read quorum.media (every tenant's events): they get the same payload as
    # quorum.outcome.rejected.v1 on their own quorum.outcomes.<tenant>
    consumers=("ops",),
    summary="A registration request was refused: every reason, with the request id. Client "
    "systems read it on their tenant's outcome topic (`quorum.outcome.rejected.v1`).",
)

EVENTS = (REGISTRATION_REQUESTED, MEDIA_REGISTERED, MEDIA_REJECTED)
