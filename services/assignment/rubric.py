"""Rubric rules, free of I/O: whether a rubric definition makes sense, and every problem of
an expert's answers against one, each naming its field (``body.ratings.visual_quality``).

The form, in order: the verdict (when the rubric offers verdicts: a ratings-only rubric
offers none) and the flags; a gate (a gate verdict such as ``infeasible``, or a gate flag
such as ``unsafe``) ends the form there; then the rated dimensions, the severity and the
corrected labels; last the justification.

After a gate:

* the dimensions and corrected labels are not asked: given, they are refused;
* the severity is not required by the rubric's ``asks_severity`` (it may still be given),
  but a raised flag that requires a severity requires it, gate or not;
* the justification is required as the rule says: the gate skips nothing of it;
* a gate flag takes a verdict that vouches for nothing the gate skipped: ``reject`` or a
  gate verdict. ``accept`` or ``correct`` with a gate flag contradict it (they stand for
  ratings and labels that were not given) and are refused at ``body.verdict``.

A requirement that depends on the verdict is judged only once the verdict is one the
rubric offers: with a missing or unknown verdict the verdict's error is the one reported,
and the ratings are not required when that verdict could have been a gate verdict.

The templates (``TEMPLATES``) are data: ``templates/<name>.json`` beside this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

from shared.contracts.rubric import (
    MAX_SCALE_POINTS,
    Answers,
    FlagSpec,
    LabelShape,
    RubricDefinition,
)
from shared.contracts.taxonomy import ClassSnapshot, ClassStatus
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import Verdict
from shared.errors import FieldError
from shared.taxonomy.attributes import attribute_errors

#: The rubric templates shipped as data, by name.
TEMPLATES: tuple[str, ...] = ("image_edit_evaluation", "multimodal_label_qa")

#: Severities from the least to the most severe.
SEVERITY_RANK: dict[Severity, int] = {
    Severity.none: 0,
    Severity.minor: 1,
    Severity.major: 2,
    Severity.critical: 3,
}


def _err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def _names(values: Iterable[str]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def _duplicates(values: Sequence[str], at: str, what: str) -> list[FieldError]:
    seen: set[str] = set()
    errors = []
    for index, value in enumerate(values):
        if value in seen:
            errors.append(_err(f"{at}.{index}", f"{what} {str(value)!r} is listed twice"))
        seen.add(value)
    return errors


# --- the definition ---


def definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    """Every reason the definition does not make sense (an empty list: it does)."""
    errors = []
    if not rubric.name.strip():
        errors.append(_err("body.name", "a rubric needs a name"))
    errors.extend(_verdict_definition_errors(rubric))
    errors.extend(_dimension_definition_errors(rubric))
    errors.extend(_flag_definition_errors(rubric))
    errors.extend(_justification_definition_errors(rubric))
    errors.extend(_labels_definition_errors(rubric))
    return errors


def _verdict_definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    errors = _duplicates(rubric.verdicts, "body.verdicts", "verdict")
    if rubric.feasibility_check and Verdict.infeasible not in rubric.verdicts:
        errors.append(
            _err("body.verdicts", "a feasibility check offers the infeasible verdict: add it")
        )
    for index, verdict in enumerate(rubric.verdicts):
        if verdict is Verdict.infeasible and not rubric.feasibility_check:
            errors.append(
                _err(
                    f"body.verdicts.{index}",
                    "the infeasible verdict is offered only with a feasibility check "
                    "(feasibility_check)",
                )
            )
    errors.extend(_duplicates(rubric.gate_verdicts, "body.gate_verdicts", "verdict"))
    errors.extend(_unoffered(rubric, rubric.gate_verdicts, "body.gate_verdicts"))
    if Verdict.infeasible in rubric.verdicts and Verdict.infeasible not in rubric.gate_verdicts:
        errors.append(
            _err(
                "body.gate_verdicts",
                "the infeasible verdict ends the form: list it among the gate verdicts",
            )
        )
    return errors


def _unoffered(rubric: RubricDefinition, verdicts: Sequence[Verdict], at: str) -> list[FieldError]:
    return [
        _err(f"{at}.{index}", f"the verdict {verdict.value!r} is not offered (verdicts)")
        for index, verdict in enumerate(verdicts)
        if verdict not in rubric.verdicts
    ]


def _dimension_definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for index, dim in enumerate(rubric.dimensions):
        at = f"body.dimensions.{index}"
        if dim.name in seen:
            errors.append(_err(f"{at}.name", f"dimension {dim.name!r} is defined twice"))
        seen.add(dim.name)
        if not dim.title.strip():
            errors.append(_err(f"{at}.title", "a dimension needs a title"))
        points = dim.scale_max - dim.scale_min + 1
        if dim.scale_min >= dim.scale_max:
            errors.append(_err(f"{at}.scale_max", f"must be above scale_min ({dim.scale_min})"))
        elif points > MAX_SCALE_POINTS:
            errors.append(
                _err(
                    f"{at}.scale_max",
                    f"a scale has at most {MAX_SCALE_POINTS} points; "
                    f"{dim.scale_min} to {dim.scale_max} has {points}",
                )
            )
        else:
            # anchors are judged against a sound scale only; a point may go without one
            scale = range(dim.scale_min, dim.scale_max + 1)
            outside = sorted(p for p in dim.anchors if p not in scale)
            if outside:
                errors.append(
                    _err(
                        f"{at}.anchors",
                        f"anchors for {_names(map(str, outside))} are outside the scale "
                        f"{dim.scale_min} to {dim.scale_max}",
                    )
                )
        for point, text in sorted(dim.anchors.items()):
            if not text.strip():
                errors.append(_err(f"{at}.anchors.{point}", "the anchor text is empty"))
    return errors


def gate_flag_verdicts(rubric: RubricDefinition) -> list[Verdict]:
    """The verdicts that may go with a raised gate flag: ``reject`` and the gate verdicts,
    those the rubric offers (``accept`` and ``correct`` vouch for what the gate skips)."""
    return [v for v in rubric.verdicts if v is Verdict.reject or v in rubric.gate_verdicts]


def _flag_definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for index, flag in enumerate(rubric.flags):
        at = f"body.flags.{index}"
        if flag.name in seen:
            errors.append(_err(f"{at}.name", f"flag {flag.name!r} is defined twice"))
        seen.add(flag.name)
        if not flag.title.strip():
            errors.append(_err(f"{at}.title", "a flag needs a title"))
        if flag.requires_severity and not rubric.asks_severity:
            errors.append(
                _err(
                    f"{at}.requires_severity",
                    "the flag needs a severity, but the rubric does not ask for one "
                    "(asks_severity)",
                )
            )
        if flag.gate and rubric.verdicts and not gate_flag_verdicts(rubric):
            errors.append(
                _err(
                    f"{at}.gate",
                    "a gate flag is raised with the verdict reject or a gate verdict, and "
                    "this rubric offers neither: offer one, or make the flag no gate",
                )
            )
    return errors


def _justification_definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    rule = rubric.justification
    at = "body.justification"
    errors = _duplicates(rule.verdicts, f"{at}.verdicts", "verdict")
    errors.extend(_unoffered(rubric, rule.verdicts, f"{at}.verdicts"))
    if rule.severity_at_least is not None and not rubric.asks_severity:
        errors.append(
            _err(
                f"{at}.severity_at_least",
                "depends on the severity, but the rubric does not ask for one (asks_severity)",
            )
        )
    if rule.min_length and not (rule.always or rule.verdicts or rule.severity_at_least):
        errors.append(
            _err(
                f"{at}.min_length",
                "no rule requires a justification, so the minimum length never applies: "
                "set always, verdicts or severity_at_least",
            )
        )
    return errors


def _labels_definition_errors(rubric: RubricDefinition) -> list[FieldError]:
    spec = rubric.labels
    at = "body.labels"
    errors = []
    if not spec.asked:
        if spec.shapes:
            errors.append(_err(f"{at}.shapes", "corrected labels are not asked (asked)"))
        if spec.required_for:
            errors.append(_err(f"{at}.required_for", "corrected labels are not asked (asked)"))
    errors.extend(_duplicates(spec.shapes, f"{at}.shapes", "shape"))
    errors.extend(_duplicates(spec.required_for, f"{at}.required_for", "verdict"))
    errors.extend(_unoffered(rubric, spec.required_for, f"{at}.required_for"))
    for index, verdict in enumerate(spec.required_for):
        if verdict in rubric.gate_verdicts:
            errors.append(
                _err(
                    f"{at}.required_for.{index}",
                    f"the verdict {verdict.value!r} ends the form, so labels are never "
                    "asked with it",
                )
            )
    return errors


# --- the answers ---


def answer_errors(
    rubric: RubricDefinition,
    answers: Answers,
    *,
    classes: Mapping[str, ClassSnapshot] | None,
) -> list[FieldError]:
    """Every problem of ``answers`` against ``rubric`` at once. ``classes`` are the classes
    of the unit's taxonomy version by id; ``None``: the taxonomy is not known, and the
    class ids and attributes of corrected labels are not checked."""
    flag_specs = {f.name: f for f in rubric.flags}
    verdict = answers.verdict
    known = verdict if verdict is not None and verdict in rubric.verdicts else None
    raised = [flag_specs[n] for n in dict.fromkeys(answers.flags) if n in flag_specs]
    gate_flag = next((f"the flag {f.name!r}" for f in raised if f.gate), None)
    errors = []
    if verdict is None:
        if rubric.verdicts:
            errors.append(_err("body.verdict", "a verdict is required"))
    elif not rubric.verdicts:
        errors.append(_err("body.verdict", "this rubric asks for no verdict: it rates only"))
    elif known is None:
        errors.append(
            _err(
                "body.verdict",
                f"the verdict {verdict.value!r} is not offered by this rubric; "
                f"offered: {_names(v.value for v in rubric.verdicts)}",
            )
        )
    elif gate_flag is not None and known not in gate_flag_verdicts(rubric):
        errors.append(
            _err(
                "body.verdict",
                f"the verdict {known.value!r} contradicts {gate_flag}, which ends the form: "
                f"{known.value!r} vouches for the ratings and labels the gate skips; give "
                f"{' or '.join(v.value for v in gate_flag_verdicts(rubric))}",
            )
        )
    errors.extend(_flag_errors(answers.flags, flag_specs))
    gate: str | None  # what ended the form, if anything did
    if known is not None and known in rubric.gate_verdicts:
        gate = f"the verdict {known.value!r}"
    else:
        gate = gate_flag
    # a missing or unknown verdict may have been one that ends the form
    may_be_gated = gate is not None or (known is None and bool(rubric.gate_verdicts))
    errors.extend(_rating_errors(rubric, answers.ratings, gate, may_be_gated))
    needs_severity = [f.name for f in raised if f.requires_severity]
    errors.extend(_severity_errors(rubric, answers.severity, needs_severity, may_be_gated))
    errors.extend(_justification_errors(rubric, answers, known))
    errors.extend(_labels_errors(rubric, answers.labels, known, gate, classes))
    return errors


def _flag_errors(flags: Sequence[str], specs: Mapping[str, FlagSpec]) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for index, name in enumerate(flags):
        if name in seen:
            errors.append(_err(f"body.flags.{index}", f"the flag {name!r} is given twice"))
        elif name not in specs:
            errors.append(_err(f"body.flags.{index}", f"no flag {name!r} in this rubric"))
        seen.add(name)
    return errors


def _rating_errors(
    rubric: RubricDefinition, ratings: Mapping[str, int], gate: str | None, may_be_gated: bool
) -> list[FieldError]:
    errors = []
    for dim in rubric.dimensions:
        at = f"body.ratings.{dim.name}"
        if dim.name not in ratings:
            if not may_be_gated:
                errors.append(_err(at, "a rating is required"))
            continue
        value = ratings[dim.name]
        if gate is not None:
            errors.append(_err(at, f"not asked after the gate: {gate} ends the form"))
        elif (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not dim.scale_min <= value <= dim.scale_max
        ):
            errors.append(_err(at, f"must be an integer from {dim.scale_min} to {dim.scale_max}"))
    known = {d.name for d in rubric.dimensions}
    for name in ratings:
        if name not in known:
            errors.append(_err(f"body.ratings.{name}", f"no dimension {name!r} in this rubric"))
    return errors


def _severity_errors(
    rubric: RubricDefinition,
    severity: Severity | None,
    needs_severity: Sequence[str],
    may_be_gated: bool,
) -> list[FieldError]:
    one = len(needs_severity) == 1
    by = f"the flag{'' if one else 's'} {_names(repr(n) for n in needs_severity)}"
    verb = "needs" if one else "need"
    if severity is None:
        if needs_severity:
            return [_err("body.severity", f"a severity is required: {by} {verb} one")]
        if rubric.asks_severity and not may_be_gated:
            return [_err("body.severity", "a severity is required")]
        return []
    if not rubric.asks_severity and not needs_severity:
        return [_err("body.severity", "this rubric does not ask for a severity")]
    if needs_severity and severity is Severity.none:
        return [_err("body.severity", f"{by} {verb} a severity above none")]
    return []


def justification_length(text: str) -> int:
    """The length the minimum applies to: the ends stripped, each run of whitespace one."""
    return len(" ".join(text.split()))


def _justification_errors(
    rubric: RubricDefinition, answers: Answers, verdict: Verdict | None
) -> list[FieldError]:
    rule = rubric.justification
    reasons = []
    if rule.always:
        reasons.append("this rubric")
    if verdict is not None and verdict in rule.verdicts:
        reasons.append(f"the verdict {verdict.value!r}")
    severity = answers.severity
    level = rule.severity_at_least
    if (
        level is not None
        and severity is not None
        and SEVERITY_RANK[severity] >= SEVERITY_RANK[level]
    ):
        reasons.append(f"the severity {severity.value!r}")
    if not reasons:
        return []
    why = " and ".join(reasons)
    length = justification_length(answers.justification)
    if length == 0:
        at_least = f" of at least {rule.min_length} characters" if rule.min_length else ""
        return [_err("body.justification", f"a justification{at_least} is required for {why}")]
    if length < rule.min_length:
        return [
            _err(
                "body.justification",
                f"at least {rule.min_length} characters are required for {why}; "
                f"this has {length} (whitespace runs count as one, the ends not at all)",
            )
        ]
    return []


def _labels_errors(
    rubric: RubricDefinition,
    labels: Sequence[Label],
    verdict: Verdict | None,
    gate: str | None,
    classes: Mapping[str, ClassSnapshot] | None,
) -> list[FieldError]:
    spec = rubric.labels
    if not labels:
        if spec.asked and gate is None and verdict is not None and verdict in spec.required_for:
            return [
                _err(
                    "body.labels",
                    f"corrected labels are required for the verdict {verdict.value!r}",
                )
            ]
        return []
    if not spec.asked:
        return [_err("body.labels", "this rubric asks for no corrected labels")]
    if gate is not None:
        return [_err("body.labels", f"not asked after the gate: {gate} ends the form")]
    errors = []
    allowed = set(spec.shapes)
    for index, label in enumerate(labels):
        at = f"body.labels.{index}"
        carried = []
        if label.geometry is not None:
            carried.append(("geometry", LabelShape(label.geometry.kind)))
        if label.segment is not None:
            carried.append(("segment", LabelShape.segment))
        if label.text is not None:
            carried.append(("text", LabelShape.text))
        for field, shape in carried:
            if shape not in allowed:
                errors.append(
                    _err(
                        f"{at}.{field}",
                        f"{shape.value} labels are not asked; this rubric asks for "
                        f"{_names(s.value for s in spec.shapes)}",
                    )
                )
        if classes is not None:
            errors.extend(_class_errors(label, classes, at))
    return errors


def _class_errors(label: Label, classes: Mapping[str, ClassSnapshot], at: str) -> list[FieldError]:
    cls = classes.get(label.class_id)
    if cls is None:
        return [_err(f"{at}.class_id", f"no class {label.class_id!r} in the taxonomy version")]
    errors = []
    if cls.status is ClassStatus.deprecated:
        errors.append(
            _err(
                f"{at}.class_id",
                f"class {cls.id!r} is deprecated in the taxonomy version: use its replacement",
            )
        )
    errors.extend(attribute_errors(label.attributes, cls, at))
    return errors


# --- the templates ---


def load_template(name: str) -> RubricDefinition:
    """The template ``name`` (one of :data:`TEMPLATES`), read from its JSON file."""
    if name not in TEMPLATES:
        raise ValueError(f"no rubric template {name!r}; templates: {', '.join(TEMPLATES)}")
    path = resources.files(__package__ or "services.assignment").joinpath("templates")
    text = path.joinpath(f"{name}.json").read_text(encoding="utf-8")
    return RubricDefinition.model_validate_json(text)
