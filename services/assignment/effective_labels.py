"""What labels a judgment stands for, free of I/O (model-assisted review).

An expert reviews an item's pre-labels and answers with a verdict, and with corrected labels
where the pre-labels need them. The judgment's **effective labels** are:

* ``reject`` or ``infeasible``: none (the item, or its instruction, is refused; no label of
  it is an outcome), whatever labels were sent along;
* corrected labels given: those, whole (a correction replaces the pre-labels, it does not
  patch them);
* ``accept`` without labels: the item's pre-labels, in the unit's taxonomy version;
* otherwise (``correct`` on a rubric that asks no labels, or no verdict at all): none.

``correct`` without labels, on a rubric that asks for labels, is refused: it would say the
pre-labels are wrong without saying what is right (to say that no label applies, ``reject``).
Accepting pre-labels whose classes cannot be carried into the unit's taxonomy version (a
class split or removed since they were registered) is refused too: the expert corrects them.

Consensus, adjudication, gold and qualification scoring, ``item.resolved`` and so the
client's item and exports all read the effective labels, so an accepted pre-label is an
outcome like a corrected one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.contracts.media import PreLabels
from shared.contracts.rubric import Answers, RubricDefinition
from shared.contracts.vocabulary import Label
from shared.contracts.work import Verdict
from shared.errors import FieldError

#: verdicts whose judgment stands for no label at all
REFUSING = frozenset({Verdict.reject, Verdict.infeasible})

#: class id -> (its id in the target version, or None and why not)
Translate = Callable[[str], tuple[str | None, str | None]]


def of(answers: Answers, prelabels: Sequence[Label]) -> list[Label]:
    """The labels a judgment with ``answers`` stands for, given the item's ``prelabels`` (in
    the unit's taxonomy version)."""
    if answers.verdict in REFUSING:
        return []
    if answers.labels:
        return list(answers.labels)
    if answers.verdict is Verdict.accept:
        return list(prelabels)
    return []


def judged(answers: Answers, effective: Sequence[Label] | None) -> Answers:
    """``answers`` as consensus and scoring compare them: their labels are the effective
    ones (``None``: a judgment stored before effective labels were kept, taken as given)."""
    if effective is None:
        return answers
    return answers.model_copy(update={"labels": list(effective)})


def content_prelabels(content: Mapping[str, Any]) -> list[Label]:
    """The pre-labels of an item's stored content (``WorkItem.content``, a gold or
    qualification item's ``content``)."""
    raw = content.get("prelabels")
    return list(PreLabels.model_validate(raw).labels) if raw else []


def keyed(key: Answers, content: Mapping[str, Any]) -> Answers:
    """A gold or qualification key as scoring compares it: with its effective labels, the
    item's own pre-labels where the key accepts them (key and item share a taxonomy version)."""
    return judged(key, of(key, content_prelabels(content)))


def translated(prelabels: Sequence[Label], translate: Translate) -> tuple[list[Label], list[str]]:
    """The pre-labels with their classes carried into another taxonomy version, and the
    problems of those that cannot be (one message per label, in order)."""
    labels, problems = [], []
    for index, label in enumerate(prelabels):
        class_id, reason = translate(label.class_id)
        if class_id is None:
            problems.append(f"pre-label {index} (class {label.class_id!r}): {reason}")
        else:
            labels.append(label.model_copy(update={"class_id": class_id}))
    return labels, problems


def errors(
    answers: Answers, form: RubricDefinition, untranslatable: Sequence[str] = (), at: str = "body"
) -> list[FieldError]:
    """What the effective-label rules refuse in ``answers`` on a unit of rubric ``form``:
    ``correct`` without labels where the rubric asks labels, and ``accept`` without labels
    of pre-labels that do not carry into the unit's taxonomy version (``untranslatable``)."""
    found = []
    if answers.verdict is Verdict.correct and form.labels.asked and not answers.labels:
        found.append(
            FieldError(
                field=f"{at}.labels",
                message="a correct verdict gives the corrected labels (they replace the "
                "pre-labels); to say no label applies, reject",
            )
        )
    if answers.verdict is Verdict.accept and not answers.labels and untranslatable:
        found.append(
            FieldError(
                field=f"{at}.verdict",
                message="the pre-labels cannot be accepted as they are in the unit's taxonomy "
                "version: " + "; ".join(untranslatable) + "; correct them instead",
            )
        )
    return found
