"""A gold key must score 1 against itself: a label no answer could ever match (a shape with no
area to overlap, a malformed mask) and an IoU threshold at which disjoint shapes match are
refused, naming the field (``gold.key_errors``)."""

from __future__ import annotations

from typing import Any

import pytest

from services.assignment import gold
from services.assignment.gold import GoldTolerances
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask

GOOD = Label(class_id="car", geometry=Box(x=0, y=0, width=10, height=10))


def key_with(geometry: Any) -> Answers:
    return Answers(labels=[GOOD, Label(class_id="car", geometry=geometry)])


@pytest.mark.parametrize(
    "geometry",
    [
        Polygon(points=[(0, 0), (1, 1), (2, 2)]),
        Box(x=1, y=1, width=1e-100, height=1e-100),
        RleMask(size=(2, 2), counts=[1, 1]),  # runs cover 2 of 4 pixels
        RleMask(size=(2, 2), counts="!!"),  # not COCO's encoding
        RleMask(size=(2, 2), counts=[4]),  # no pixel set: nothing to overlap
    ],
    ids=["collinear-polygon", "box-of-1e-200", "mask-runs-short", "mask-bad-string", "empty-mask"],
)
def test_a_key_label_that_cannot_match_itself_is_refused_at_its_geometry(geometry: Any) -> None:
    errors = gold.key_errors(key_with(geometry), GoldTolerances(), flags=())
    assert [e.field for e in errors] == ["key.labels.1.geometry"]
    assert "does not match itself" in errors[0].message


def test_an_iou_threshold_of_0_is_refused_for_it_matches_disjoint_boxes() -> None:
    far = Label(class_id="car", geometry=Box(x=500, y=500, width=10, height=10))
    at_zero = GoldTolerances(iou_threshold=0.0)
    # what it would do: a box nowhere near the key's scores right
    assert gold.score(Answers(labels=[far]), Answers(labels=[GOOD]), tolerances=at_zero).score == 1
    errors = gold.key_errors(Answers(labels=[GOOD]), at_zero, flags=())
    assert [e.field for e in errors] == ["tolerances.iou_threshold"]


def test_a_key_that_scores_1_against_itself_is_accepted() -> None:
    key = Answers(
        labels=[GOOD, Label(class_id="car", geometry=Polygon(points=[(0, 0), (4, 0), (0, 3)]))]
    )
    assert gold.key_errors(key, GoldTolerances(iou_threshold=0.9), flags=()) == []
    assert gold.score(key, key, tolerances=GoldTolerances(iou_threshold=0.9)).score == 1
