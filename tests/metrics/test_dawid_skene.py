"""Dawid-Skene without gold: crowd-kit as the reference, recovery of known experts, warm
starts, edge cases and the stored document."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, product

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene

from services.metrics.dawid_skene import (
    DawidSkeneResult,
    dawid_skene,
    expert_summary,
)

Judgment = tuple[str, str, str]


@dataclass
class Simulated:
    judgments: list[Judgment]
    truth: dict[str, str]
    labels: list[str]
    confusion: np.ndarray  # (experts, true, given)


def simulate(
    seed: int,
    items: int,
    accuracies: Sequence[float],
    labels: int,
    coverage: float,
    item_prefix: str = "item",
) -> Simulated:
    """Each expert judges each item with probability ``coverage``; expert ``e`` is right with
    probability ``accuracies[e]`` whatever the true label, and spreads their errors over the
    other labels by a Dirichlet(1) draw per true label."""
    rng = np.random.default_rng(seed)
    names = [f"label-{k}" for k in range(labels)]
    confusion = np.empty((len(accuracies), labels, labels))
    for e, accuracy in enumerate(accuracies):
        for k in range(labels):
            errors = rng.dirichlet(np.ones(labels - 1)) * (1 - accuracy)
            confusion[e, k] = np.insert(errors, k, accuracy)
    priors = rng.dirichlet(np.full(labels, 5.0))
    truth = rng.choice(labels, items, p=priors)
    item, expert = np.nonzero(rng.random((items, len(accuracies))) < coverage)
    cumulative = confusion[expert, truth[item]].cumsum(axis=1)
    given = (rng.random(len(item))[:, None] > cumulative).sum(axis=1).clip(max=labels - 1)
    judgments = [
        (f"{item_prefix}-{i:04d}", f"expert-{e}", names[g])
        for i, e, g in zip(item, expert, given, strict=True)
    ]
    return Simulated(
        judgments,
        {f"{item_prefix}-{i:04d}": names[truth[i]] for i in range(items)},
        names,
        confusion,
    )


def crowd_kit(judgments: list[Judgment], n_iter: int = 100, tol: float = 1e-5) -> DawidSkene:
    """crowd-kit's DawidSkene fitted on the judgments (its defaults: 100 and 1e-5)."""
    frame = pd.DataFrame(judgments, columns=["task", "worker", "label"])
    return DawidSkene(n_iter=n_iter, tol=tol).fit(frame)


def crowd_kit_confusion(model: DawidSkene, result: DawidSkeneResult) -> np.ndarray:
    """crowd-kit's ``errors_`` (rows: worker and given label, columns: true label; the
    labels a worker never gave are absent) as Quorum's (experts, true, given) array."""
    assert model.errors_ is not None
    confusion = np.zeros_like(result.confusion)
    for (worker, given), row in model.errors_.iterrows():
        e, g = result.experts.index(worker), result.labels.index(given)
        for true, value in row.items():
            confusion[e, result.labels.index(str(true)), g] = value
    return confusion


def crowd_kit_posteriors(model: DawidSkene, result: DawidSkeneResult) -> np.ndarray:
    assert model.probas_ is not None
    posteriors: np.ndarray = model.probas_.loc[list(result.items), list(result.labels)].to_numpy()
    return posteriors


def assert_same_estimate(a: DawidSkeneResult, b: DawidSkeneResult, tolerance: float) -> None:
    assert (a.labels, a.experts, a.items) == (b.labels, b.experts, b.items)
    assert np.abs(a.priors - b.priors).max() <= tolerance
    assert np.abs(a.confusion - b.confusion).max() <= tolerance
    assert np.abs(a.posteriors - b.posteriors).max() <= tolerance
    assert a.most_likely == b.most_likely


# --- crowd-kit as the reference ------------------------------------------------------------

# (seed, items, accuracies, labels, coverage): 3 to 6 experts, missing judgments
REFERENCE_DATA = [
    (23, 250, (0.9, 0.8, 0.7, 0.75, 0.65, 0.85), 5, 0.75),
    (25, 400, (0.9, 0.8, 0.7, 0.6, 0.85), 3, 0.7),
    (37, 300, (0.95, 0.85, 0.75), 4, 0.85),
]


@pytest.mark.parametrize(("seed", "items", "accuracies", "labels", "coverage"), REFERENCE_DATA)
def test_the_converged_estimate_equals_crowd_kit_run_to_convergence(
    seed: int, items: int, accuracies: tuple[float, ...], labels: int, coverage: float
) -> None:
    data = simulate(seed, items, accuracies, labels, coverage)
    result = dawid_skene(data.judgments)
    assert result.converged
    # crowd-kit run to convergence: its loss is not monotone under EM (it adds the log prior
    # once per judgment, not per item), so any positive tol can stop it early when the loss
    # falls; tol = -inf runs every iteration, and as many as ours plus 20 reach the same point
    model = crowd_kit(data.judgments, n_iter=result.iterations + 20, tol=-math.inf)
    assert model.priors_ is not None
    assert np.abs(crowd_kit_posteriors(model, result) - result.posteriors).max() < 1e-6
    assert np.abs(model.priors_[list(result.labels)].to_numpy() - result.priors).max() < 1e-6
    assert np.abs(crowd_kit_confusion(model, result) - result.confusion).max() < 1e-6
    assert model.labels_ is not None
    assert list(model.labels_[list(result.items)]) == list(result.most_likely)


def test_crowd_kit_default_stopping_rule_stops_before_convergence() -> None:
    data = simulate(9, 400, (0.9, 0.9, 0.55), 3, 0.7)
    converged = dawid_skene(data.judgments)
    default = crowd_kit(data.judgments)  # n_iter=100, tol=1e-5 on its loss per judgment
    ran = len(default.loss_history_)
    assert converged.converged
    assert ran < 10 < 100 < converged.iterations
    # it stopped because its loss fell, which a lower bound of the likelihood never does in EM
    assert default.loss_history_[-1] < default.loss_history_[-2]
    early = dawid_skene(data.judgments, max_iter=ran)
    assert np.abs(crowd_kit_confusion(default, early) - early.confusion).max() < 1e-9, (
        "crowd-kit took the same path as ours, and stopped on it"
    )
    assert early.log_likelihood is not None and converged.log_likelihood is not None
    assert converged.log_likelihood > early.log_likelihood + 0.5
    assert np.abs(crowd_kit_posteriors(default, converged) - converged.posteriors).max() > 0.3
    assert np.abs(crowd_kit_confusion(default, converged) - converged.confusion).max() > 0.04


# --- recovery of known experts ---------------------------------------------------------------


def test_recovers_the_accuracy_of_five_simulated_experts_within_005() -> None:
    accuracies = (0.95, 0.9, 0.8, 0.7, 0.55)
    data = simulate(2026, 500, accuracies, 4, 0.8)
    result = dawid_skene(data.judgments)
    assert result.converged
    summary = expert_summary(result)
    assert [s.expert_id for s in summary] == [f"expert-{e}" for e in range(5)]
    estimated = np.array([s.accuracy for s in summary])
    # 0.05 is about two standard errors at 400 judgments per expert: on 40 other seeds the
    # largest error was below it in 37
    assert np.abs(estimated - accuracies).max() < 0.05
    assert np.argsort(estimated).tolist() == [4, 3, 2, 1, 0]
    # the most likely labels beat a majority vote against the simulated truth
    truth = [data.truth[i] for i in result.items]
    votes: dict[str, list[str]] = {}
    for item, _, label in data.judgments:
        votes.setdefault(item, []).append(label)
    majority = [max(sorted(set(votes[i])), key=votes[i].count) for i in result.items]
    ds_right = np.mean([a == b for a, b in zip(result.most_likely, truth, strict=True)])
    mv_right = np.mean([a == b for a, b in zip(majority, truth, strict=True)])
    assert ds_right > mv_right


def test_expert_summary_is_the_prior_weighted_diagonal_and_the_judgment_count() -> None:
    data = simulate(3, 120, (0.9, 0.7, 0.6), 3, 0.8)
    result = dawid_skene(data.judgments)
    for e, summary in enumerate(expert_summary(result)):
        expected = sum(result.priors[k] * result.confusion[e, k, k] for k in range(3))
        assert summary.accuracy == pytest.approx(expected, abs=1e-15)
        assert summary.judgments == sum(j[1] == summary.expert_id for j in data.judgments)


# --- the estimate itself ---------------------------------------------------------------------


def test_confusion_rows_and_posteriors_sum_to_one_and_labels_are_sorted() -> None:
    data = simulate(4, 200, (0.8, 0.7, 0.9, 0.6), 4, 0.6)
    result = dawid_skene(data.judgments)
    assert list(result.labels) == sorted(data.labels)
    assert list(result.items) == sorted(result.items)
    assert np.allclose(result.confusion.sum(axis=2), 1, atol=1e-12)
    assert np.allclose(result.posteriors.sum(axis=1), 1, atol=1e-12)
    assert result.priors.sum() == pytest.approx(1, abs=1e-12)
    best = result.posteriors.argmax(axis=1)
    assert result.most_likely == tuple(result.labels[b] for b in best)


def test_log_likelihood_is_the_observed_data_likelihood_by_enumeration() -> None:
    judgments = [
        ("i1", "a", "x"), ("i1", "b", "x"), ("i1", "c", "y"),
        ("i2", "a", "y"), ("i2", "b", "y"),
        ("i3", "a", "x"), ("i3", "c", "x"),
        ("i4", "b", "y"), ("i4", "c", "x"),
    ]  # fmt: skip
    result = dawid_skene(judgments)
    p, pi = result.priors, result.confusion
    expected = 0.0
    for item in result.items:
        own = [
            (result.experts.index(e), result.labels.index(label))
            for i, e, label in judgments
            if i == item
        ]
        expected += math.log(sum(p[k] * math.prod(pi[e, k, g] for e, g in own) for k in range(2)))
        # an item's posterior is its prior times the likelihood of its judgments, normalised
        joint = [p[k] * math.prod(pi[e, k, g] for e, g in own) for k in range(2)]
        posterior = result.posteriors[result.items.index(item)]
        assert posterior.tolist() == pytest.approx([j / sum(joint) for j in joint], abs=1e-9)
    assert result.log_likelihood == pytest.approx(expected, abs=1e-9)


def test_every_iteration_raises_the_log_likelihood_and_max_iter_stops_unconverged() -> None:
    data = simulate(5, 400, (0.9, 0.9, 0.55), 3, 0.7)
    runs = [dawid_skene(data.judgments, max_iter=n) for n in range(1, 40)]
    likelihoods = [r.log_likelihood for r in runs if r.log_likelihood is not None]
    assert len(likelihoods) == len(runs)
    assert all(b >= a - 1e-9 for a, b in pairwise(likelihoods))
    assert all(not r.converged and r.iterations == i for i, r in enumerate(runs, start=1))


def test_an_item_with_a_single_judgment_has_prior_times_that_experts_row_as_posterior() -> None:
    data = simulate(6, 150, (0.9, 0.8, 0.7), 3, 0.9)
    result = dawid_skene([*data.judgments, ("lonely", "expert-2", "label-1")])
    e, i = result.experts.index("expert-2"), result.items.index("lonely")
    joint = result.priors * result.confusion[e, :, 1]
    assert result.posteriors[i] == pytest.approx(joint / joint.sum(), abs=1e-12)


# --- warm start ------------------------------------------------------------------------------


def test_warm_start_after_ten_percent_more_judgments_reaches_the_cold_answer_mostly_sooner() -> (
    None
):
    # 12 projects: the earlier 10/11 of their judgments, then all (new items and new
    # judgments of known items); the previous result goes through its stored document
    fewer = 0
    for seed in range(12):
        data = simulate(100 + seed, 500, (0.9, 0.85, 0.75, 0.7, 0.6), 4, 0.75)
        later = np.random.default_rng(seed).random(len(data.judgments)) < 1 / 11
        earlier = [j for j, late in zip(data.judgments, later, strict=True) if not late]
        previous = dawid_skene(earlier)
        stored = DawidSkeneResult.from_document(json.loads(json.dumps(previous.to_document())))
        warm = dawid_skene(data.judgments, warm_start=stored)
        cold = dawid_skene(data.judgments)
        assert warm.converged and cold.converged
        assert_same_estimate(warm, cold, 1e-6)
        assert warm.log_likelihood == pytest.approx(cold.log_likelihood, abs=1e-6)
        fewer += warm.iterations < cold.iterations
    # measured 9 of 12, three of them by a single iteration (72 to 78 % over 120 projects,
    # at the median only 3 to 5 % fewer: see the module docstring); a majority is asserted
    assert fewer >= 7


def test_warm_start_handles_new_and_gone_experts_items_and_labels() -> None:
    data = simulate(9, 400, (0.9, 0.8, 0.75, 0.7, 0.85), 4, 0.8)
    # before: no expert-4, no label-3, items 0300-0399 unseen, and a label "gone" since gone
    before = [
        j for j in data.judgments if j[1] != "expert-4" and j[2] != "label-3" and j[0] < "item-0300"
    ] + [("item-gone", "expert-0", "gone"), ("item-gone", "expert-9", "gone")]
    previous = dawid_skene(before)
    assert "gone" in previous.labels and "expert-9" in previous.experts
    now = [j for j in data.judgments if j[0] >= "item-0020"]  # items 0000-0019 gone
    warm = dawid_skene(now, warm_start=previous)
    cold = dawid_skene(now)
    assert warm.labels == ("label-0", "label-1", "label-2", "label-3")
    assert "expert-4" in warm.experts and "expert-9" not in warm.experts
    assert_same_estimate(warm, cold, 1e-6)


def test_a_warm_start_from_an_unconverged_result_continues_the_same_em_path() -> None:
    data = simulate(12, 300, (0.9, 0.8, 0.7, 0.6), 3, 0.7)
    stopped = dawid_skene(data.judgments, max_iter=20)
    assert not stopped.converged
    continued = dawid_skene(data.judgments, warm_start=stopped, max_iter=30)
    # the warm start's first M-step is the 21st iteration of the cold path
    straight = dawid_skene(data.judgments, max_iter=51)
    assert_same_estimate(continued, straight, 1e-12)


def test_warm_start_from_an_empty_result_is_a_cold_start() -> None:
    data = simulate(11, 100, (0.9, 0.8, 0.7), 3, 0.8)
    warm = dawid_skene(data.judgments, warm_start=dawid_skene([]))
    cold = dawid_skene(data.judgments)
    assert_same_estimate(warm, cold, 0.0)
    assert warm.iterations == cold.iterations


# --- edge cases ------------------------------------------------------------------------------


def test_no_judgments_give_an_empty_result_with_a_reason() -> None:
    result = dawid_skene([])
    assert result.reason == "no judgments"
    assert (result.labels, result.experts, result.items, result.most_likely) == ((), (), (), ())
    assert (result.iterations, result.converged, result.log_likelihood) == (0, False, None)
    assert expert_summary(result) == ()
    restored = DawidSkeneResult.from_document(result.to_document())
    assert restored.reason == "no judgments"
    assert restored.posteriors.shape == (0, 0) and restored.confusion.shape == (0, 0, 0)


def test_a_single_expert_is_taken_at_their_word_with_a_reason() -> None:
    judgments = [("i1", "solo", "cat"), ("i2", "solo", "dog"), ("i3", "solo", "cat")]
    result = dawid_skene(judgments)
    assert result.converged
    assert result.most_likely == ("cat", "dog", "cat")
    assert result.reason is not None and "one expert" in result.reason
    (summary,) = expert_summary(result)
    assert (summary.expert_id, summary.judgments) == ("solo", 3)
    assert summary.accuracy == pytest.approx(1, abs=1e-8)
    assert result.priors == pytest.approx([2 / 3, 1 / 3], abs=1e-8)


def test_one_label_only_is_certain_and_converges_at_once() -> None:
    judgments = [("i1", "a", "ok"), ("i1", "b", "ok"), ("i2", "a", "ok")]
    result = dawid_skene(judgments)
    assert (result.labels, result.iterations, result.converged) == (("ok",), 1, True)
    assert result.priors.tolist() == [1.0]
    assert result.confusion.tolist() == [[[1.0]], [[1.0]]]
    assert result.posteriors.tolist() == [[1.0], [1.0]]
    assert result.log_likelihood == 0.0
    assert result.reason == "one label only: every judgment gives it"


def test_parameters_and_judgments_are_checked() -> None:
    with pytest.raises(ValueError, match="tol"):
        dawid_skene([("i", "e", "l")], tol=0)
    with pytest.raises(ValueError, match="max_iter"):
        dawid_skene([("i", "e", "l")], max_iter=0)
    with pytest.raises(ValueError, match="of strings"):
        dawid_skene([("i", "e", 3)])  # type: ignore[list-item]


# --- the stored document ---------------------------------------------------------------------


def test_the_document_round_trips_labels_with_dots_and_dollars_and_uses_no_label_as_a_key() -> None:
    labels = ["$ref", "a.b", "a", "b.$c"]
    judgments = [
        (f"item.{i}", f"expert${e}", labels[(i * (e + 1) + (i % 3 == 0)) % 4])
        for i, e in product(range(30), range(4))
        if (i + e) % 5
    ]
    result = dawid_skene(judgments)
    document = result.to_document()

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert keys(document) == {
        "schema", "labels", "priors", "experts", "expert_id", "judgments", "confusion",
        "items", "item_id", "posterior", "label", "iterations", "converged",
        "log_likelihood", "tol", "max_iter", "reason",
    }  # fmt: skip
    restored = DawidSkeneResult.from_document(json.loads(json.dumps(document)))
    assert restored.labels == tuple(sorted(labels))
    assert_same_estimate(restored, result, 0.0)
    assert restored.to_document() == document
    with pytest.raises(ValueError, match=r"not a quorum\.metrics"):
        DawidSkeneResult.from_document({**document, "schema": "other"})
