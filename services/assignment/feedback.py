"""Guideline feedback rules, free of I/O: every reason an expert's feedback on a unit cannot
be taken, at once (field paths as the body names them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from shared.contracts.work import FeedbackAbout, FeedbackKind
from shared.errors import FieldError

#: Kinds that only make sense about the taxonomy.
TAXONOMY_KINDS = frozenset({FeedbackKind.missing_class})


def feedback_errors(
    about: FeedbackAbout,
    kind: FeedbackKind,
    class_ids: Sequence[str],
    proposed_class: str | None,
    classes: Collection[str] | None,
) -> list[FieldError]:
    """Why the feedback does not fit its unit; ``classes``: the class ids of the unit's
    taxonomy version (None: the unit has none)."""
    errors = []
    if kind in TAXONOMY_KINDS and about is not FeedbackAbout.taxonomy:
        errors.append(
            FieldError(field="body.about", message=f"{kind.value} is feedback about the taxonomy")
        )
    if kind is FeedbackKind.missing_class and not proposed_class:
        errors.append(
            FieldError(field="body.proposed_class", message="name the class that is missing")
        )
    if kind is not FeedbackKind.missing_class and proposed_class:
        errors.append(FieldError(field="body.proposed_class", message="only for a missing class"))
    if about is FeedbackAbout.taxonomy and classes is None:
        errors.append(
            FieldError(field="body.about", message="the unit has no taxonomy version to discuss")
        )
    if classes is not None:
        errors += [
            FieldError(
                field=f"body.class_ids[{i}]",
                message=f"class {c} is not in the unit's taxonomy version",
            )
            for i, c in enumerate(class_ids)
            if c not in classes
        ]
    elif class_ids:
        errors.append(FieldError(field="body.class_ids", message="the unit has no taxonomy"))
    if len(set(class_ids)) != len(class_ids):
        errors.append(FieldError(field="body.class_ids", message="a class is named twice"))
    return errors
