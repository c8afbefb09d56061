"""Active-learning priorities: disagreement, model uncertainty and pre-label error per item and
class, fused by weighted reciprocal rank fusion, and published as recommendations."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.prelabels import PrelabelConfusion
from services.metrics.priorities import (
    MAX_RECOMMENDATIONS,
    REASON_MAX,
    RRF_K,
    ItemEvidence,
    Weights,
    competition_ranks,
    confusion_of,
    disagreement,
    fuse,
    prelabel_error,
    ranked_classes,
    ranked_items,
    recommendations,
    uncertainty,
)
from shared.contracts.metrics import MetricsAlertV1, Recommendation
from shared.contracts.spec import max_length

# --- components ----------------------------------------------------------------------------


def test_disagreement_is_0_when_all_judges_agree_and_1_when_all_differ() -> None:
    assert disagreement(["cat", "cat", "cat"]) == 0.0
    assert disagreement(["cat", "dog"]) == 1.0
    assert disagreement(["cat", "dog", "bird"]) == 1.0


def test_disagreement_of_two_against_one_by_hand() -> None:
    # H = -(2/3 ln 2/3 + 1/3 ln 1/3) = 0.636514...; over ln 3 = 0.579380...
    h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert disagreement(["cat", "cat", "dog"]) == pytest.approx(h / math.log(3), abs=1e-15)
    assert disagreement(["cat", "cat", "dog"]) == pytest.approx(0.579380, abs=1e-6)
    # on a yes / no field the most three judgments can disagree is ln 2
    assert disagreement(["y", "y", "n"], n_values=2) == pytest.approx(h / math.log(2), abs=1e-15)


def test_disagreement_of_an_even_split_on_the_fields_labels_is_1() -> None:
    assert disagreement(["y", "y", "n", "n"], n_values=2) == pytest.approx(1.0, abs=1e-15)
    assert disagreement(["y", "y", "n", "n"]) == pytest.approx(0.5, abs=1e-15)


def test_an_item_with_fewer_than_two_judgments_has_no_disagreement() -> None:
    assert disagreement([]) is None
    assert disagreement(["cat"]) is None


def test_disagreement_treats_each_multi_label_judgment_as_one_label() -> None:
    assert disagreement([("cat", "dog"), ("cat", "dog")]) == 0.0
    assert disagreement([("cat", "dog"), ("cat",)]) == 1.0


def test_disagreement_refuses_more_labels_than_the_field_admits() -> None:
    with pytest.raises(ValueError, match="admits"):
        disagreement(["a", "b", "c"], n_values=2)


@given(st.lists(st.sampled_from("abcde"), min_size=2, max_size=40))
def test_disagreement_is_between_0_and_1(labels: list[str]) -> None:
    value = disagreement(labels, n_values=5)
    assert value is not None and 0 <= value <= 1


def test_uncertainty_of_one_class_is_1_minus_its_confidence() -> None:
    assert uncertainty([("cat", 0.9)]) == pytest.approx(0.1)
    assert uncertainty([("cat", 0.25), ("cat", 0.75)]) == pytest.approx(0.25)


def test_uncertainty_of_several_classes_is_1_minus_the_margin_of_the_top_two() -> None:
    assert uncertainty([("cat", 0.6), ("dog", 0.3), ("bird", 0.1)]) == pytest.approx(0.7)
    assert uncertainty([("cat", 0.5), ("dog", 0.5)]) == 1.0


def test_an_item_without_a_confidence_has_no_uncertainty() -> None:
    assert uncertainty([]) is None
    assert uncertainty([("cat", None)]) is None
    assert uncertainty([("cat", None), ("dog", 0.8)]) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="confidence"):
        uncertainty([("cat", 1.5)])


def test_prelabel_error_is_the_share_of_pre_labelled_classes_resolved_otherwise() -> None:
    assert prelabel_error([("cat", 0.9)], ["cat"]) == 0.0
    assert prelabel_error([("cat", 0.9)], ["dog"]) == 1.0
    assert prelabel_error([("cat", 0.9), ("dog", 0.8)], ["cat", "bird"]) == 0.5
    assert prelabel_error([("cat", 0.9)], []) == 1.0


def test_prelabel_error_is_undefined_before_resolution_or_without_pre_labels() -> None:
    assert prelabel_error([("cat", 0.9)], None) is None
    assert prelabel_error([], ["cat"]) is None


# --- fusion --------------------------------------------------------------------------------


def test_competition_ranks_share_the_best_rank_on_ties_and_leave_out_zero_and_none() -> None:
    scores = {"a": 0.9, "b": 0.5, "c": 0.5, "d": 0.1, "e": 0.0, "f": None}
    assert competition_ranks(scores) == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_reciprocal_rank_fusion_by_hand() -> None:
    components: dict[str, dict[str, float | None]] = {
        "disagreement": {"a": 0.9, "b": 0.5, "c": None},
        "prelabel_error": {"a": 1.0, "b": 1.0, "c": 0.0},
        "uncertainty": {"a": 0.2, "b": None, "c": 0.7},
    }
    best = 3 / 61
    fused = fuse(components)
    assert fused["a"] == pytest.approx((1 / 61 + 1 / 61 + 1 / 62) / best, abs=1e-15)
    assert fused["b"] == pytest.approx((1 / 62 + 1 / 61) / best, abs=1e-15)
    assert fused["c"] == pytest.approx((1 / 61) / best, abs=1e-15)
    assert RRF_K == 60


def test_fusion_gives_1_to_first_everywhere_and_0_to_a_candidate_ranked_nowhere() -> None:
    components: dict[str, dict[str, float | None]] = {
        "disagreement": {"a": 1.0, "z": 0.0},
        "prelabel_error": {"a": 1.0, "z": None},
        "uncertainty": {"a": 0.5},
    }
    assert fuse(components) == {"a": 1.0, "z": 0.0}


def test_weights_scale_each_rankings_share_and_a_zero_weight_ignores_it() -> None:
    components = {
        "disagreement": {"a": 0.9, "b": 0.1},
        "prelabel_error": {"a": 0.1, "b": 0.9},
        "uncertainty": {},
    }
    only = fuse(components, Weights(disagreement=1, prelabel_error=0, uncertainty=0))
    assert only == {"a": 1.0, "b": pytest.approx(61 / 62)}
    tilted = fuse(components, Weights(disagreement=2, prelabel_error=1, uncertainty=1))
    assert tilted["a"] == pytest.approx((2 / 61 + 1 / 62) / (4 / 61))
    assert tilted["a"] > tilted["b"]
    with pytest.raises(ValueError, match="weights"):
        Weights(0, 0, 0)
    with pytest.raises(ValueError, match="weights"):
        Weights(-1, 1, 1)


scores = st.one_of(st.none(), st.floats(0, 1))


@settings(max_examples=200)
@given(
    st.dictionaries(st.text("xyz", min_size=1, max_size=3), st.tuples(scores, scores, scores)),
    st.tuples(st.floats(0.01, 0.5), st.floats(0.01, 0.5), st.floats(0.01, 0.5)),
    st.tuples(st.floats(0, 0.5), st.floats(0, 0.5), st.floats(0, 0.5)),
)
def test_a_candidate_higher_on_every_component_has_a_higher_priority(
    others: dict[str, tuple[float | None, float | None, float | None]],
    worse: tuple[float, float, float],
    gaps: tuple[float, float, float],
) -> None:
    better = tuple(w + g + 0.01 for w, g in zip(worse, gaps, strict=True))
    rows = {**others, "better": better, "worse": worse}
    components = {
        name: {c: row[i] for c, row in rows.items()}
        for i, name in enumerate(("disagreement", "prelabel_error", "uncertainty"))
    }
    fused = fuse(components)
    assert fused["better"] > fused["worse"]
    assert all(0 <= p <= 1 for p in fused.values())


# --- items ---------------------------------------------------------------------------------


def items() -> list[ItemEvidence]:
    return [
        # disagreement 1, half its pre-labels wrong, uncertainty 0.7: worst on every component
        ItemEvidence("i-4", ["cat", "dog"], [("cat", 0.6), ("dog", 0.3)], ["dog"]),
        # disagreement 0.58, pre-label right, uncertainty 0.2
        ItemEvidence("i-2", ["cat", "cat", "dog"], [("cat", 0.8)], ["cat"]),
        # one judgment, pending, uncertainty 0.2 — the same as i-2 on that component
        ItemEvidence("i-1", ["cat"], [("cat", 0.8)]),
        # everyone agrees, the model was certain and right
        ItemEvidence("i-3", ["cat", "cat"], [("cat", 1.0)], ["cat"]),
    ]


def test_ranked_items_give_each_component_and_the_fused_priority() -> None:
    ranked = ranked_items(items())
    assert [p.item_id for p in ranked] == ["i-4", "i-2", "i-1", "i-3"]
    top, second, third, last = ranked
    assert (top.disagreement, top.prelabel_error) == (1.0, 0.5)
    assert top.uncertainty == pytest.approx(0.7)
    assert top.priority == 1.0 and top.ranks == {
        "disagreement": 1,
        "prelabel_error": 1,
        "uncertainty": 1,
    }
    assert second.ranks == {"disagreement": 2, "uncertainty": 2}
    assert second.priority == pytest.approx((1 / 62 + 1 / 62) / (3 / 61))
    assert (third.disagreement, third.prelabel_error, third.judgments) == (None, None, 1)
    assert third.priority == pytest.approx((1 / 62) / (3 / 61))
    assert (last.disagreement, last.prelabel_error, last.uncertainty, last.priority) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )


def test_ranked_items_break_ties_by_item_id_and_do_not_depend_on_input_order() -> None:
    twins = [ItemEvidence(f"t-{i}", ["a", "b"], [("a", 0.5)], None) for i in (3, 1, 2)]
    given_items = items() + twins
    expected = ranked_items(given_items)
    # the twins tie behind i-4 (as disagreed, less uncertain, no pre-label error)
    assert [p.item_id for p in expected[:4]] == ["i-4", "t-1", "t-2", "t-3"]
    for seed in range(5):
        shuffled = list(given_items)
        random.Random(seed).shuffle(shuffled)
        assert ranked_items(shuffled) == expected


def test_an_item_worse_on_every_component_ranks_above_among_many() -> None:
    rng = random.Random(22)
    crowd = [
        ItemEvidence(
            f"c-{i:03d}",
            [rng.choice("ab") for _ in range(rng.randint(1, 4))],
            [("a", rng.random()), ("b", rng.random())],
            rng.choice([None, ["a"], ["b"]]),
        )
        for i in range(200)
    ]
    worse = ItemEvidence("worse", ["a", "b", "a"], [("a", 0.7), ("b", 0.3)], ["a", "c"])
    better = ItemEvidence("better", ["a", "b", "c"], [("a", 0.5), ("b", 0.45)], ["c"])
    ranked = {p.item_id: p for p in ranked_items([*crowd, worse, better])}
    b, w = ranked["better"], ranked["worse"]
    assert b.disagreement > w.disagreement  # type: ignore[operator]
    assert b.prelabel_error > w.prelabel_error  # type: ignore[operator]
    assert b.uncertainty > w.uncertainty  # type: ignore[operator]
    assert b.priority > w.priority


def test_ranked_items_refuse_an_item_given_twice_and_keep_at_most_the_limit() -> None:
    with pytest.raises(ValueError, match="twice"):
        ranked_items([ItemEvidence("a"), ItemEvidence("a")])
    assert [p.item_id for p in ranked_items(items(), limit=2)] == ["i-4", "i-2"]
    assert ranked_items(items(), limit=0) == []


# --- classes -------------------------------------------------------------------------------


def test_ranked_classes_take_the_error_rate_from_the_confusion_and_means_from_the_items() -> None:
    confusion = PrelabelConfusion("m", "v")
    for i in range(20):
        confusion.add("cat", "dog" if i < 5 else "cat")
        confusion.add("dog", "cat" if i < 2 else "dog")
    confusion.add("bird", "cat")  # one item: below the minimum count
    ranked = {c.class_id: c for c in ranked_classes(items(), confusion)}
    assert set(ranked) == {"cat", "dog", "bird"}
    cat, dog, bird = ranked["cat"], ranked["dog"], ranked["bird"]
    assert (cat.n, cat.errors, cat.error_rate) == (20, 5, 0.25)
    assert (dog.n, dog.errors, dog.error_rate) == (20, 2, 0.1)
    assert (bird.n, bird.errors, bird.error_rate) == (1, 1, None)
    # cat is the resolved or pre-label class of i-4, i-2 and i-3 (i-1 has one judgment)
    h = disagreement(["cat", "cat", "dog"])
    assert h is not None
    assert cat.disagreement_items == 3
    assert cat.disagreement == pytest.approx((1.0 + h + 0.0) / 3)
    # dog: only i-4 (pre-labelled and resolved dog)
    assert (dog.disagreement_items, dog.disagreement) == (1, 1.0)
    # uncertainty of the items pre-labelled cat: i-4 0.7, i-2 0.2, i-1 0.2, i-3 0.0
    assert cat.uncertainty_items == 4
    assert cat.uncertainty == pytest.approx((0.7 + 0.2 + 0.2 + 0.0) / 4)
    # dog is first on two rankings (disagreement, uncertainty), cat on one; bird on none
    assert [c.class_id for c in ranked_classes(items(), confusion)] == ["dog", "cat", "bird"]
    assert dog.ranks == {"prelabel_error": 2, "disagreement": 1, "uncertainty": 1}
    assert bird.priority == 0.0


def test_ranked_classes_without_a_confusion_count_the_items_given() -> None:
    # i-4's "dog" matches its resolved "dog"; its "cat" is left over, matched with none
    built = confusion_of(items())
    assert built.counts == {"cat": {"cat": 2, "none": 1}, "dog": {"dog": 1}}
    ranked = {c.class_id: c for c in ranked_classes(items(), min_count=1)}
    assert (ranked["cat"].n, ranked["cat"].errors) == (3, 1)
    assert ranked["cat"].error_rate == pytest.approx(1 / 3)
    assert ranked["dog"].error_rate == 0.0
    assert "none" not in ranked


def test_a_class_worse_on_every_component_ranks_above() -> None:
    confusion = PrelabelConfusion("m", "v")
    for i in range(30):
        confusion.add("hard", "easy" if i < 15 else "hard")
        confusion.add("easy", "hard" if i < 3 else "easy")
    evidence = [
        ItemEvidence("h", ["hard", "easy"], [("hard", 0.5), ("easy", 0.4)], ["easy"]),
        ItemEvidence("e", ["easy", "easy", "hard"], [("easy", 0.9)], ["easy"]),
    ]
    ranked = ranked_classes(evidence, confusion)
    assert [c.class_id for c in ranked] == ["hard", "easy"]
    hard, easy = ranked
    assert hard.priority == 1.0 > easy.priority


# --- recommendations -----------------------------------------------------------------------


def test_recommendations_take_the_top_candidates_scored_by_priority_with_reasons() -> None:
    recs = recommendations(ranked_items(items()), top=2)
    assert [(r.target, r.target_kind) for r in recs] == [("i-4", "item"), ("i-2", "item")]
    assert recs[0].score == 1.0
    assert "judges disagree" in recs[0].reason
    assert "pre-label was wrong" in recs[0].reason
    assert "model was uncertain" in recs[0].reason
    assert "pre-label" not in recs[1].reason


def test_recommendations_leave_out_candidates_without_priority() -> None:
    recs = recommendations(ranked_items(items()), top=10)
    assert [r.target for r in recs] == ["i-4", "i-2", "i-1"]


def test_class_recommendations_name_the_classes_components() -> None:
    confusion = PrelabelConfusion("m", "v")
    for i in range(20):
        confusion.add("cat", "dog" if i < 5 else "cat")
    (first, *_) = recommendations(ranked_classes(items(), confusion))
    assert (first.target, first.target_kind) == ("cat", "class")
    assert "wrong 25.0 % of the time (5 of 20 items)" in first.reason
    assert "judges disagree" in first.reason and "uncertain" in first.reason


def test_recommendations_are_bounded_by_the_alerts_limit_and_the_reasons_by_theirs() -> None:
    assert max_length(MetricsAlertV1, "recommendations") == MAX_RECOMMENDATIONS
    assert max_length(Recommendation, "reason") == REASON_MAX
    many = [ItemEvidence(f"i-{i:04d}", ["a", "b"], [("a", i / 1500)]) for i in range(1500)]
    ranked = ranked_items(many)
    recs = recommendations(ranked, top=MAX_RECOMMENDATIONS)
    assert len(recs) == MAX_RECOMMENDATIONS
    assert recommendations(ranked, top=0) == []
    assert len(recommendations(ranked)) == 50
    MetricsAlertV1(
        alert_id="a",
        project_id="p",
        tenant="t",
        kind="agreement",
        severity="minor",
        summary="s",
        recommendations=recs,
        raised_at="2025-01-01T00:00:00Z",
    )
    with pytest.raises(ValueError, match="top"):
        recommendations(ranked, top=MAX_RECOMMENDATIONS + 1)
    long = [ItemEvidence("x" * 256, ["a", "b"], [("c" * 256, 0.5)], ["d" * 256])]
    (rec,) = recommendations(ranked_items(long))
    assert len(rec.reason) <= REASON_MAX


def test_priorities_are_deterministic() -> None:
    first = recommendations(ranked_items(items()))
    assert recommendations(ranked_items(items())) == first
    assert ranked_classes(items()) == ranked_classes(list(reversed(items())))
