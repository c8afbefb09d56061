"""Path parameters of assignment's routes: ids as the contracts define them (no whitespace
or control characters), so a path no stored document can have is a 422, never a 500 from an
event that cannot carry it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from shared.contracts.vocabulary import ID_PATTERN

IdPath = Annotated[str, Path(min_length=1, max_length=256, pattern=ID_PATTERN)]
ProjectPath = IdPath
ExpertPath = IdPath
GoldPath = IdPath
SetPath = IdPath
ItemPath = IdPath
