"""Answers on a unit of an item, checked as a judgment's (and ops' override) are: against the
unit's rubric version and taxonomy classes, the effective-label rules, and the media the
labels mark; and the item's pre-labels as the unit sees them (in the unit's taxonomy
version, carried through the published mappings when the item was registered under
another)."""

from __future__ import annotations

from services.assignment import effective_labels, rubric
from services.assignment.handlers.forms import RubricForms, classes_of, placed_label_errors
from services.assignment.models.work import ItemContent, Unit, WorkItem
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Label
from shared.errors import FieldError
from shared.taxonomy.cache import TaxonomyCache
from shared.taxonomy.translation import UnknownVersion


async def unit_prelabels(
    cache: TaxonomyCache, item: WorkItem, unit: Unit
) -> tuple[list[Label], list[str]]:
    """The item's pre-labels in ``unit``'s taxonomy version, and why those that cannot be
    carried there cannot (an accept of them is refused; see ``effective_labels``)."""
    labels = effective_labels.content_prelabels(item.content)
    source, target = item.content.get("taxonomy"), unit.taxonomy
    if not labels or source is None or target is None:
        return list(labels), []
    ontology, version = source["ontology_id"], source["version"]
    if ontology != target.ontology_id:
        reason = f"registered under ontology {ontology!r}, the unit uses {target.ontology_id!r}"
        return [], [f"pre-labels {reason}"]
    if version == target.version:
        return list(labels), []
    low, high = sorted((version, target.version))
    for number in range(low, high + 1):  # translation walks every step in between
        await cache.fetch(item.tenant, ontology, number)
    versions = cache.ontology(item.tenant, ontology)

    def translate(class_id: str) -> tuple[str | None, str | None]:
        if versions is None:
            return None, f"taxonomy {ontology} is not known here yet"
        try:
            found = versions.translate(class_id, version, target.version)
        except UnknownVersion as error:
            return None, str(error)
        return found.class_id, found.reason

    return effective_labels.translated(labels, translate)


async def answer_errors(
    forms: RubricForms, cache: TaxonomyCache, item: WorkItem, unit: Unit, answers: Answers
) -> tuple[list[FieldError], list[Label]]:
    """Every problem of ``answers`` on ``unit`` (at ``body.answers...``), and the effective
    labels they stand for (meaningful only without problems)."""
    form = await forms.get(item.tenant, unit.rubric)
    prelabels, untranslatable = await unit_prelabels(cache, item, unit)
    classes = await classes_of(cache, item.tenant, unit.taxonomy)
    errors = rubric.answer_errors(form, answers, classes=classes)
    errors += effective_labels.errors(answers, form, untranslatable)
    if answers.labels:  # placed on the item's media, as ingest places pre-labels
        shown = ItemContent.model_validate(item.content)
        errors += placed_label_errors(
            answers.labels,
            modality=item.modality,
            media=shown.media,
            parts=shown.parts,
            classes=classes,
            at="body.labels",
            reported=errors,
        )
    found = [
        FieldError(field=e.field.replace("body.", "body.answers.", 1), message=e.message)
        for e in errors
    ]
    return found, effective_labels.of(answers, prelabels)
