"""Qualification rules: an attempt's score is the mean over every item of the set (an item
given back unjudged scores 0), a pass is a score at or above the threshold, and each expert
has one copy id per item."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import qualification

scores = st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=50)


@given(scores, st.floats(0, 1))
def test_the_score_is_the_mean_over_every_item_with_given_back_ones_at_zero(
    given_scores: list[float | None], threshold: float
) -> None:
    result = qualification.outcome(given_scores, threshold)
    assert result.score == pytest.approx(statistics.fmean(s or 0.0 for s in given_scores))
    assert result.items == len(given_scores)
    assert result.answered == sum(s is not None for s in given_scores)
    assert result.passed == (round(result.score, 9) >= threshold)


def test_a_score_exactly_at_the_threshold_passes() -> None:
    assert qualification.outcome([1.0] * 7 + [0.0] * 3, 0.7).passed
    assert not qualification.outcome([1.0] * 6 + [0.0] * 4, 0.7).passed
    assert qualification.outcome([None], 0.0).passed


def test_a_set_without_items_has_no_outcome() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        qualification.outcome([], 0.5)


@given(st.integers(0, 199), st.integers(0, 199))
def test_each_expert_has_one_copy_id_per_item_and_tenant(i: int, j: int) -> None:
    a = qualification.copy_id("acme", "qs", "exp-1", i)
    assert a == qualification.copy_id("acme", "qs", "exp-1", i)
    assert (a == qualification.copy_id("acme", "qs", "exp-1", j)) == (i == j)
    assert a != qualification.copy_id("acme", "qs", "exp-2", i)
    assert a != qualification.copy_id("other", "qs", "exp-1", i)


def test_copies_are_filed_under_a_prefix_no_project_may_take() -> None:
    assert qualification.project_of("qs-1") == "qualification:qs-1"
    assert qualification.project_of("qs-1").startswith(qualification.PROJECT_PREFIX)
