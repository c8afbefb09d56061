"""A failing field and why: what rule modules return, what problem+json and rejection events
carry. Free of I/O, so pure rule modules can use it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. body.parts.0.width")
    message: str
