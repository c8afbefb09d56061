"""What assignment does with a metrics alert's recommendations, free of I/O.

* An ``item`` recommendation raises the item's priority to the recommendation's score (never
  lowers it: priorities only grow, so a replayed or late alert changes nothing). On an
  ``agreement`` alert the item also gets one more review unit, up to the project's largest
  overlap (the most judges any of its items may have), since its judges disagree.
* A ``class`` recommendation (pre-label error, drift) raises the priority of the project's
  pending items whose pre-labels have that class: active learning on the weak class.
* An ``expert`` recommendation is for ops (the alert reaches them on the metrics topic);
  assignment acts on none. Any other target kind is ignored, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.metrics import AlertKind, MetricsAlertV1


@dataclass(frozen=True)
class PrioritiseItem:
    item_id: str
    priority: float
    #: one more review unit (on an agreement alert)
    extra_review: bool


@dataclass(frozen=True)
class PrioritiseClass:
    class_id: str
    priority: float


@dataclass(frozen=True)
class Ignored:
    target: str
    reason: str


Action = PrioritiseItem | PrioritiseClass | Ignored


def actions(alert: MetricsAlertV1) -> list[Action]:
    """One action per recommendation of the alert, in its order."""
    out: list[Action] = []
    for r in alert.recommendations:
        if r.target_kind == "item":
            out.append(PrioritiseItem(r.target, r.score, alert.kind is AlertKind.agreement))
        elif r.target_kind == "class":
            out.append(PrioritiseClass(r.target, r.score))
        elif r.target_kind == "expert":
            out.append(Ignored(r.target, "an expert recommendation is for ops"))
        else:
            out.append(Ignored(r.target, f"target kind {r.target_kind!r} is not known"))
    return out


def review_cap(k: int, k_iaa: int, k_max: int) -> int:
    """The most review units an item of the project may have."""
    return max(k, k_iaa, k_max)
