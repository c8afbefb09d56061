"""What an expert sees of their own calibration (``calibration.expert_view``): whole batches of
gold scores, cut at the boundaries of a period, so no change of it can be traced to the unit
they just judged; ops keep the exact figures (``calibration.replay``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.assignment.calibration import (
    VIEW_BATCH,
    expert_view,
    replay,
    view_cutoff,
)

MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)


def times(count: int, start: datetime, step: timedelta = timedelta(minutes=10)) -> list[datetime]:
    return [start + i * step for i in range(count)]


def test_the_view_is_cut_at_utc_midnight() -> None:
    assert view_cutoff(MIDNIGHT + timedelta(hours=13)) == MIDNIGHT
    assert view_cutoff(MIDNIGHT) == MIDNIGHT
    assert view_cutoff(MIDNIGHT - timedelta(microseconds=1)) == MIDNIGHT - DAY


def test_no_view_before_a_whole_batch_was_scored_before_the_cut() -> None:
    scores = [1.0, 0.5, 0.8, 0.9]
    scored = times(4, MIDNIGHT - timedelta(hours=5))
    assert expert_view(scores, scored, 4, MIDNIGHT + timedelta(hours=1)) is None


def test_a_gold_score_today_does_not_move_the_view_until_the_next_midnight() -> None:
    yesterday = times(5, MIDNIGHT - timedelta(hours=6))
    scores = [1.0, 1.0, 1.0, 1.0, 1.0]
    before = expert_view(scores, yesterday, 5, MIDNIGHT + timedelta(hours=9))
    # five more today, the last just now: the view is the same all day
    today = times(5, MIDNIGHT + timedelta(hours=2))
    after = expert_view([*scores, *[0.0] * 5], [*yesterday, *today], 10, today[-1])
    assert before is not None and after == before
    assert (after.mean, after.count, after.trend) == (1.0, 5, (1.0,))
    tomorrow = expert_view([*scores, *[0.0] * 5], [*yesterday, *today], 10, MIDNIGHT + DAY)
    assert tomorrow is not None
    assert (tomorrow.mean, tomorrow.count, tomorrow.trend) == (0.5, 10, (1.0, 0.5))
    assert tomorrow.as_of == MIDNIGHT + DAY


def test_scores_past_the_last_whole_batch_wait_for_the_batch_to_fill() -> None:
    scores = [0.0] * 5 + [1.0] * 3
    scored = times(8, MIDNIGHT - timedelta(hours=10))
    view = expert_view(scores, scored, 8, MIDNIGHT + timedelta(hours=3))
    assert view is not None and (view.count, view.mean) == (5, 0.0)


def test_scores_kept_from_before_times_were_kept_count_as_old() -> None:
    view = expert_view([0.4] * 5, [], 5, MIDNIGHT)
    assert view is not None and view.count == 5


@given(
    scores=st.lists(st.floats(0, 1), min_size=0, max_size=119),
    per_day=st.integers(1, 40),
    hour=st.integers(0, 23),
)
def test_the_view_is_ops_figures_after_the_last_whole_batch_scored_before_the_cut(
    scores: list[float], per_day: int, hour: int
) -> None:
    # ``per_day`` scores a day, in order (all kept: the store keeps the last 119)
    start = MIDNIGHT - 10 * DAY
    scored = [
        start + (i // per_day) * DAY + timedelta(minutes=i % per_day) for i in range(len(scores))
    ]
    now = (scored[-1] if scored else MIDNIGHT) + timedelta(hours=hour)
    view = expert_view(scores, scored, len(scores), now)
    before = sum(1 for at in scored if at < view_cutoff(now))
    shown = before - before % VIEW_BATCH
    if shown == 0:
        assert view is None
        return
    exact = replay(scores[:shown])
    assert view is not None
    assert (view.mean, view.count) == (exact.mean, exact.count)
    # the trend moves once a batch: ops' rolling mean after each whole batch
    after_batches = [replay(scores[:n]).mean for n in range(VIEW_BATCH, shown + 1, VIEW_BATCH)]
    assert list(view.trend) == after_batches


def test_with_scores_dropped_by_the_store_batches_still_count_from_the_first_score() -> None:
    # 128 fed, the last 119 kept: the view shows the first 125 (25 whole batches); its trend
    # is ops' mean after each batch the kept scores rebuild exactly (a full window of them)
    scores = [(i % 3) / 2 for i in range(128)]
    scored = times(128, MIDNIGHT - 3 * DAY, timedelta(minutes=1))
    view = expert_view(scores[-119:], scored[-119:], 128, MIDNIGHT)
    exact = replay(scores[:125])
    assert view is not None and (view.count, view.mean) == (exact.count, exact.mean)
    assert list(view.trend) == [replay(scores[:n]).mean for n in range(30, 126, 5)]
