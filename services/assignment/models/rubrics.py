"""Rubrics: a definition (``shared.contracts.rubric``) under an id, in immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from shared.contracts.rubric import RubricDefinition
from shared.contracts.spec import Strict

RubricId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
TemplateName = Literal["image_edit_evaluation", "multimodal_label_qa"]


class RubricVersion(BaseModel):
    rubric_id: str
    version: int
    definition: RubricDefinition
    created_at: datetime
    created_by: str


class RubricIn(Strict):
    """A new rubric's first version: a definition, or one of the templates."""

    rubric_id: RubricId = Field(description="lower-case letters, digits, - and _")
    definition: RubricDefinition | None = None
    template: TemplateName | None = Field(None, description="start from a shipped template")

    @model_validator(mode="after")
    def _one_source(self) -> RubricIn:
        if (self.definition is None) == (self.template is None):
            raise ValueError("give exactly one of definition and template")
        return self


class RubricVersionIn(Strict):
    definition: RubricDefinition


class Rubric(BaseModel):
    """A rubric: its latest version and the numbers of all of them."""

    rubric_id: str
    latest: RubricVersion
    versions: list[int]


class Template(BaseModel):
    name: str
    definition: RubricDefinition
