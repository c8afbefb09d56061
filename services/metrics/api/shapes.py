"""What metrics' routes share: the project path parameter, the 404 answer, and the shape of
a proportion with its Wilson interval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

from shared.contracts.vocabulary import ID_PATTERN
from shared.http.problems import ProblemDetail

ProjectPath = Annotated[str, Path(min_length=1, max_length=256, pattern=ID_PATTERN)]


def not_found(description: str) -> dict[int | str, dict[str, Any]]:
    """The documented 404 of a route about one project (problem+json)."""
    return {404: {"model": ProblemDetail, "description": description}}


class Rate(BaseModel):
    """A share with its 95 % Wilson interval; `value` and `ci` are null with a `reason` when
    there is no observation."""

    value: float | None
    successes: float
    n: int
    ci: list[float] | None = Field(description="[low, high], 95 %, Wilson")
    reason: str | None = None
