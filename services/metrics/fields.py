"""The agreement fields of a judgment (``quorum.judgment.submitted.v1``): one definition for
the offline report and the service.

* ``verdict`` (nominal: accept, correct, reject, infeasible; judgments without a verdict give
  none), ``severity`` (ordinal: none < minor < major < critical);
* ``rating.<dimension>`` (interval, on the scores met);
* ``flag.<name>`` (nominal, true / false: whether the judgment raised the flag) and
  ``class.<class_id>`` (one-vs-rest, true / false: whether the judgment's labels carry the
  class): *presence* fields, over the judgments of the projects where the flag or class
  occurs, so a judgment that does not raise it counts as false there;
* ``class`` (nominal, the class of judgments whose labels carry exactly one class). A
  judgment's labels are its ``effective_labels`` when present, else its ``labels``.

Pure (no I/O).
"""

from __future__ import annotations

from services.metrics.agreement import Level, Scale
from shared.contracts.vocabulary import Severity
from shared.contracts.work import JudgmentSubmittedV1, Verdict

SEVERITY_ORDER = (Severity.none, Severity.minor, Severity.major, Severity.critical)
VERDICT_SCALE = Scale(Level.nominal, tuple(v.value for v in Verdict))
SEVERITY_SCALE = Scale(Level.ordinal, tuple(s.value for s in SEVERITY_ORDER))
RATING_SCALE = Scale(Level.interval)
BINARY_SCALE = Scale(Level.nominal, ("false", "true"))
CLASS_SCALE = Scale(Level.nominal)

#: prefixes of the presence fields (true / false)
PRESENCE_PREFIXES = ("flag.", "class.")


def classes(judgment: JudgmentSubmittedV1) -> set[str]:
    labels = judgment.effective_labels if judgment.effective_labels is not None else judgment.labels
    return {label.class_id for label in labels}


def is_presence(field: str) -> bool:
    return field.startswith(PRESENCE_PREFIXES)


def scale_of(field: str) -> Scale:
    """The scale of a field named as :func:`own_fields` names it."""
    if field == "verdict":
        return VERDICT_SCALE
    if field == "severity":
        return SEVERITY_SCALE
    if field == "class":
        return CLASS_SCALE
    if field.startswith("rating."):
        return RATING_SCALE
    if is_presence(field):
        return BINARY_SCALE
    raise ValueError(f"not an agreement field: {field!r}")


def own_fields(judgment: JudgmentSubmittedV1) -> dict[str, object]:
    """The fields the judgment gives a value for, by name. Presence fields appear only where
    the judgment raises them (``True``); where a project has the flag or class and the
    judgment does not raise it, its value is false (the caller knows the project's fields)."""
    out: dict[str, object] = {}
    if judgment.verdict is not None:
        out["verdict"] = judgment.verdict.value
    out["severity"] = judgment.severity.value
    for dimension, score in judgment.ratings.items():
        out[f"rating.{dimension}"] = score
    for flag in judgment.flags:
        out[f"flag.{flag}"] = True
    found = classes(judgment)
    if len(found) == 1:
        out["class"] = next(iter(found))
    for class_id in found:
        out[f"class.{class_id}"] = True
    return out
