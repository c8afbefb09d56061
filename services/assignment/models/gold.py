"""Gold: items ops register with their answers (the key), served to experts at the project's
gold rate looking like any other unit; an expert's calibration from the scores; benches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from services.assignment import gold
from services.assignment.gold import GoldTolerances
from services.assignment.models.work import ItemContent
from shared.contracts.media import BundlePart, CaptureMetadata, MediaFile, PreLabels
from shared.contracts.rubric import Answers, RubricDefinition
from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id, Name, TaxonomyRef
from shared.contracts.work import RubricRef
from shared.errors import FieldError

#: A scored field: ``verdict``, ``severity``, ``flags``, ``labels``, ``ratings.<dimension>``,
#: ``flags.<flag>`` (one flag, raised or not).
ScoredField = Annotated[str, StringConstraints(max_length=100, pattern=gold.FIELD_PATTERN)]


class TolerancesIn(Strict):
    """How close an answer must be to the key to count as correct, and what each field
    weighs in the item's score."""

    rating: int = Field(1, ge=0, le=1_000, description="points a rating may differ by")
    ratings: dict[Name, Annotated[int, Field(ge=0, le=1_000)]] = Field(
        default_factory=dict, max_length=100, description="dimension -> points, where different"
    )
    iou_threshold: float = Field(0.5, ge=0, le=1, description="boxes and polygons that match")
    onset_tolerance_s: float = Field(0.5, ge=0, le=3_600, description="segments that match")
    offset_tolerance_s: float = Field(0.5, ge=0, le=3_600)
    empty_is_answer: list[Literal["labels", "flags"]] = Field(
        default_factory=list,
        max_length=2,
        description="list fields scored even when the key's is empty (no objects, no flags)",
    )
    weights: dict[ScoredField, Annotated[float, Field(gt=0, le=gold.MAX_WEIGHT)]] = Field(
        default_factory=dict,
        max_length=200,
        description="scored field -> its weight in the score, where not 1: verdict, severity, "
        "flags, labels, ratings.<dimension>, flags.<flag> (weighed, one flag is scored: "
        "raised by the answer exactly when by the key); only fields the key scores",
    )
    decisive: list[ScoredField] | None = Field(
        None,
        max_length=200,
        description="fields that, wrong, score the item 0 whatever the others (a decisive "
        "flags.<flag> is scored; another field the key does not set decides nothing). "
        "Not given: the verdict, the severity and flags.<flag> for each gate flag and flag "
        "needing a severity of the rubric (flags.unsafe), stored so; [] for none",
    )

    def settled(self, rubric: RubricDefinition) -> TolerancesIn:
        """These tolerances with the decisive fields named: as given, or by default those of
        ``rubric`` (:func:`services.assignment.gold.default_decisive`)."""
        if self.decisive is not None:
            return self
        return self.model_copy(update={"decisive": sorted(gold.default_decisive(rubric))})

    def rules(self) -> GoldTolerances:
        """The scoring rules; stored before decisive fields were named (None), the verdict
        and the severity are decisive."""
        return GoldTolerances(
            rating=self.rating,
            ratings=dict(self.ratings),
            iou_threshold=self.iou_threshold,
            onset_tolerance_s=self.onset_tolerance_s,
            offset_tolerance_s=self.offset_tolerance_s,
            empty_is_answer=frozenset(self.empty_is_answer),
            weights=dict(self.weights),
            decisive=gold.DEFAULT_DECISIVE if self.decisive is None else frozenset(self.decisive),
        )


class KeyedContentIn(Strict):
    """Media with known answers: the file (or a bundle's parts) as ingest registers it, and
    the key the expert's answers are scored against."""

    media: MediaFile | None = Field(None, description="the file, for a single-modality item")
    parts: list[BundlePart] | None = Field(None, max_length=64, description="a bundle's parts")
    capture: CaptureMetadata | None = None
    prelabels: PreLabels | None = None
    key: Answers = Field(description="the correct answers, checked against the rubric")
    tolerances: TolerancesIn = Field(default_factory=TolerancesIn)

    def shown(self, taxonomy: TaxonomyRef | None) -> dict[str, Any]:
        """What the expert is shown of it: a registered item's content, in the same shape."""
        return ItemContent(
            media=self.media,
            parts=self.parts,
            prelabels=self.prelabels,
            capture=self.capture,
            taxonomy=taxonomy,
        ).shown()


class GoldItemIn(KeyedContentIn):
    gold_id: Id


class GoldStale(BaseModel):
    """Why a gold item is not served: its key does not hold under the versions its project
    uses now (checked when the project changed them)."""

    rubric: RubricRef = Field(description="the project's rubric version it was checked against")
    taxonomy: TaxonomyRef | None = Field(description="and its taxonomy version")
    reason: str = Field(description="why, in words")
    errors: list[FieldError] = Field(
        default_factory=list, description="every field of the item that fails them"
    )
    checked_at: datetime


class GoldVersions(BaseModel):
    """A rubric version and a taxonomy version units are made of."""

    rubric: RubricRef
    taxonomy: TaxonomyRef | None = None


class GoldItem(BaseModel):
    """A gold item as ops see it. It is served on units of the versions its key is valid
    for (``valid_for``): those it was registered under, and each the project moved to since
    under which the key was checked again and holds. The copy takes the versions of the
    unit it stands in for (the project's next ordinary unit for the expert), so a gold unit
    has the versions its neighbours have. When the key fails the versions the project uses
    now, ``stale`` says why (ops see it); it is still served on units of versions it is
    valid for."""

    gold_id: str
    tenant: str
    project_id: str
    #: what the expert is shown, in the shape of a registered item's content
    content: dict[str, Any]
    key: Answers
    tolerances: TolerancesIn
    rubric: RubricRef = Field(description="the rubric version the key was registered under")
    taxonomy: TaxonomyRef | None = Field(
        None, description="the taxonomy version the key was registered under"
    )
    valid_for: list[GoldVersions] = Field(
        default_factory=list,
        description="the versions the key holds under, so it is served on units of them",
    )
    stale: GoldStale | None = Field(
        None,
        description="set while the key fails the versions the project uses now: not served "
        "on units of them (register a gold item for them)",
    )
    active: bool = True
    created_at: datetime
    created_by: str

    @model_validator(mode="before")
    @classmethod
    def _versions_of_old(cls, data: Any) -> Any:
        """Stored before the versions were kept apart: the content's taxonomy version, and
        valid for the versions it was registered under."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "taxonomy" not in data:
            data["taxonomy"] = (data.get("content") or {}).get("taxonomy")
        if not data.get("valid_for"):
            data["valid_for"] = [{"rubric": data.get("rubric"), "taxonomy": data["taxonomy"]}]
        return data

    def serves(self, rubric: RubricRef, taxonomy: TaxonomyRef | None) -> bool:
        """Whether it may be served on a unit of these versions: its key holds under them."""
        return GoldVersions(rubric=rubric, taxonomy=taxonomy) in self.valid_for


class GoldCounts(BaseModel):
    """What a project served an expert: units (gold included), gold units, gold items seen."""

    served: int = 0
    gold: int = 0
    seen: list[str] = Field(default_factory=list)


class SkillCalibration(BaseModel):
    """An expert's rolling gold score on one skill, as they and ops see it."""

    skill: str
    mean: float | None = Field(description="the mean of the last `window` gold scores")
    count: int = Field(description="the scores the mean rests on (up to the window)")
    window: int
    trend: list[float] = Field(
        description="the rolling mean after each gold score, oldest first (the expert's own "
        "view: after each whole batch of 5)"
    )
    as_of: datetime | None = Field(
        None,
        description="the expert's own view: the boundary (UTC midnight) it was cut at; it "
        "holds the gold scores scored before then, in whole batches of 5. Null in ops' "
        "exact figures",
    )


class Bench(BaseModel):
    """An expert benched from a project: no more of its work until ops reinstate them."""

    tenant: str
    project_id: str
    expert_id: str
    skills: dict[str, float]
    floor: float
    benched_at: datetime


class ReinstateIn(Strict):
    reason: str = Field(min_length=1, max_length=2_000)


class GoldPatch(Strict):
    active: bool = Field(description="false: retired, no longer served")
