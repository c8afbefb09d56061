"""Calibration: the rolling mean of an expert's last gold scores per skill, benching, trend."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.calibration import (
    DEFAULT_WINDOW,
    Calibration,
    benched,
    benched_skills,
    feed,
    kept,
    policy_errors,
    replay,
    trend,
)

scores = st.floats(0, 1)


def filled(values: list[float], window: int = DEFAULT_WINDOW, history: int = 100) -> Calibration:
    calibration = Calibration(window=window, history=history)
    for value in values:
        calibration = calibration.add(value)
    return calibration


@given(values=st.lists(scores, max_size=80), window=st.integers(1, 30))
def test_the_rolling_mean_is_the_mean_of_the_last_n_scores(
    values: list[float], window: int
) -> None:
    calibration = filled(values, window)
    assert calibration.count == min(len(values), window)
    if values:
        assert calibration.mean == statistics.fmean(values[-window:])
    else:
        assert calibration.mean is None


def test_the_window_is_twenty_scores_by_default() -> None:
    calibration = filled([0.0] * 5 + [1.0] * 20)
    assert calibration.window == 20
    assert calibration.count == 20
    assert calibration.mean == 1.0


def test_adding_a_score_returns_a_new_calibration_and_leaves_the_old_one() -> None:
    before = filled([0.5, 0.7])
    after = before.add(1.0)
    assert before.scores == (0.5, 0.7)
    assert after.scores == (0.5, 0.7, 1.0)


@given(values=st.lists(scores, max_size=60), window=st.integers(1, 10), history=st.integers(1, 40))
def test_the_trend_is_the_rolling_mean_after_each_of_the_last_scores(
    values: list[float], window: int, history: int
) -> None:
    expected = [
        statistics.fmean(values[max(0, i + 1 - window) : i + 1]) for i in range(len(values))
    ]
    shown = trend(filled(values, window, history))
    assert list(shown) == expected[-history:]
    assert all(isinstance(point, float) for point in shown)  # means only: no ids, no times


@given(
    values=st.lists(scores, max_size=40),
    floor=scores,
    min_count=st.integers(1, 20),
)
def test_an_expert_is_benched_exactly_at_or_past_min_count_and_strictly_below_the_floor(
    values: list[float], floor: float, min_count: int
) -> None:
    calibration = filled(values)
    expected = len(values) >= min_count and statistics.fmean(values[-20:]) < floor
    assert benched(calibration, floor, min_count) is expected


def test_no_bench_on_fewer_than_min_count_scores_however_low() -> None:
    assert not benched(filled([0.0] * 4), floor=0.8, min_count=5)
    assert benched(filled([0.0] * 5), floor=0.8, min_count=5)


def test_a_mean_exactly_at_the_floor_does_not_bench() -> None:
    assert not benched(filled([0.5, 1.0]), floor=0.75, min_count=2)
    assert benched(filled([0.5, 0.99]), floor=0.75, min_count=2)


def test_a_bad_day_leaves_the_calibration_after_a_window_of_good_scores() -> None:
    calibration = filled([0.0] * 10 + [0.9] * 20)
    assert not benched(calibration, floor=0.8, min_count=5)


@pytest.mark.parametrize("score", [-0.1, 1.1, float("nan"), float("inf")])
def test_a_gold_score_is_from_zero_to_one(score: float) -> None:
    with pytest.raises(ValueError, match=r"^a gold score is from 0 to 1"):
        Calibration().add(score)


@pytest.mark.parametrize("min_count", [0, 21])
def test_min_count_is_from_one_to_the_window(min_count: int) -> None:
    with pytest.raises(ValueError, match=r"^min_count is from 1 to the window \(20\)$"):
        benched(Calibration(), floor=0.5, min_count=min_count)


def test_the_floor_is_from_zero_to_one() -> None:
    with pytest.raises(ValueError, match=r"^the floor is from 0 to 1"):
        benched(Calibration(), floor=1.5, min_count=1)


def test_a_policy_benching_never_or_on_an_impossible_floor_is_refused_naming_each_field() -> None:
    """What ``benched`` would refuse at every gold score is refused where a project is set."""
    assert policy_errors(0.7, 20) == []
    assert [(e.field, e.message) for e in policy_errors(1.5, 21)] == [
        ("floor", "the floor is from 0 to 1, not 1.5"),
        (
            "min_count",
            "at most the 20 gold scores a calibration rests on (its window), not 21: "
            "more are never reached",
        ),
    ]
    assert [e.field for e in policy_errors(0.5, 0)] == ["min_count"]


def test_a_calibration_holds_no_more_than_its_window_and_history() -> None:
    with pytest.raises(ValueError, match="at most 2 scores"):
        Calibration(window=2, scores=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="at most 1 means"):
        Calibration(history=1, means=(0.1, 0.2))
    with pytest.raises(ValueError, match="one score or more"):
        Calibration(window=0)
    with pytest.raises(ValueError, match="from 0 to 1"):
        Calibration(scores=(2.0,))


def test_a_gold_score_feeds_each_skill_the_project_requires_and_no_other() -> None:
    before = {"lang.ja": filled([1.0]), "task.detection": filled([0.5])}
    after = feed(before, ["modality.video", "lang.ja", "lang.ja"], 0.0, window=5)
    assert after["lang.ja"].scores == (1.0, 0.0)  # once, though named twice
    assert after["modality.video"].scores == (0.0,)
    assert after["modality.video"].window == 5
    assert after["task.detection"] is before["task.detection"]
    assert before["lang.ja"].scores == (1.0,)


def test_the_benched_skills_are_the_required_ones_below_the_floor() -> None:
    calibrations = {
        "lang.ja": filled([0.2] * 5),
        "modality.video": filled([0.9] * 5),
        "task.detection": filled([0.1] * 5),  # low, but not required by this project
        "domain.clinical": filled([0.1] * 2),  # low, on too few scores
    }
    required = ["modality.video", "lang.ja", "domain.clinical", "task.new"]
    assert benched_skills(calibrations, required, floor=0.7, min_count=3) == ["lang.ja"]


@given(
    st.lists(st.floats(min_value=0, max_value=1), max_size=80),
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=1, max_value=15),
)
def test_the_last_kept_scores_replay_to_the_same_calibration_as_all_of_them(
    given_scores: list[float], window: int, history: int
) -> None:
    everything = replay(given_scores, window, history)
    again = replay(given_scores[-kept(window, history) :], window, history)
    assert again.scores == everything.scores
    assert again.means == pytest.approx(everything.means)
