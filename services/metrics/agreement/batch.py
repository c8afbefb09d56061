"""Every agreement figure of one field from a list of judgments, in batch, through the same
state the service keeps incrementally (the offline report uses it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.metrics.agreement.figures import figures
from services.metrics.agreement.scale import Scale
from services.metrics.agreement.state import AgreementState, Judgment


def field_agreement(judgments: Iterable[Judgment], scale: Scale) -> dict[str, Any]:
    """``judgments``: (item id, expert id, value); a later value of the same expert on the
    same item replaces an earlier one."""
    return figures(AgreementState.from_judgments(scale, judgments))
