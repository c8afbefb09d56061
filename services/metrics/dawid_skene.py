"""Expert confusion matrices without gold: Dawid-Skene (1979) estimated by EM, free of I/O.

**Model.** Each item ``i`` has an unknown true label ``z_i`` drawn from the priors
``p[k]``; expert ``e`` gives label ``l`` to an item whose true label is ``k`` with
probability ``pi[e, k, l]`` (the expert's confusion matrix: row = true label, column =
given label, rows sum to 1), independently of the other judgments given ``z_i``. The
parameters are the maximum-likelihood estimate, found by EM:

* **E-step**: ``T[i, k] ∝ max(p[k], 1e-10) · prod_j pi[e_j, k, l_j]`` over the item's
  judgments ``j`` (in logs, shifted by the row maximum before exponentiating);
* **M-step**: ``p = mean_i T[i]``; ``pi[e, k, l] ∝ sum of T[i, k]`` over the judgments of
  ``e`` giving ``l``, each count clipped at ``1e-10`` for the labels ``e`` gave at least once
  (labels an expert never gave keep probability 0 and are never looked up), rows normalised.

That is exactly crowd-kit's ``DawidSkene`` (its ``_EPS = 1e-10`` guard on the prior and on
the error counts, no other smoothing), so ``tests/metrics/test_dawid_skene.py`` compares the
two to 1e-6. Initialisation without a warm start: the per-item label proportions (majority
vote), followed by an M-step, as Dawid and Skene and crowd-kit do.

**Stopping rule.** An iteration is one E-step and one M-step. EM stops when the largest
absolute change of a parameter (a prior or a confusion-matrix entry) between two successive
iterations is below ``tol`` (1e-10), or after ``max_iter`` (10,000) iterations;
``converged`` tells which. The parameters are watched rather than the log-likelihood, whose
change near the optimum is quadratic in theirs and is a sum over every item (on one simulated
project it changed by less than 1e-10 while a confusion entry still moved by 7e-9 per
iteration). crowd-kit stops by default after 100 iterations or when its loss per judgment
rises by less than 1e-5, and that loss is not a lower bound of the likelihood (it adds the
log prior once per judgment, not once per item), so it can fall under EM and stop it after a
handful of iterations: a test shows it stopping after 5 on a project that needs over 300,
with posteriors off by more than 0.3. Hence this module, run to convergence. The returned
posteriors, most likely labels and log-likelihood are those of one last E-step on the
returned parameters, so they are consistent with them.

*Slow convergence.* EM converges linearly, slowly when a parameter is poorly determined,
and sublinearly when the maximum lies on the boundary (a confusion entry going to 0): on 100
simulated projects (300 items, 3 to 6 experts, 2 to 5 labels) the median was 216 iterations,
the 99th percentile 5,219, and one stopped at ``max_iter`` unconverged (it converged after
32,429; at 10,000 its confusion entries were 7e-6 and its posteriors 3e-4 from the end).
Such a result says ``converged: false`` and can be resumed by a warm start.

**Warm start** (``warm_start=`` a previous :class:`DawidSkeneResult`): the initial
posteriors are the previous result's for the items it knew, over the labels met now and
renormalised; the other items start from their majority vote, as in a cold start: new
items, items whose previous posterior is all on labels gone since, and items given a label
the previous result did not know. The M-step then estimates every expert, new ones
included; gone items, experts and labels are simply absent. The previous result only sets
the starting point: the answer is an EM fixed point of the current judgments, the cold
start's when the likelihood has a single maximum. From an unconverged result on the same
judgments, a warm start continues the same EM path (so a run stopped by ``max_iter`` can be
resumed). *Measured* on 2 x 60 simulated projects (500 or 550 items, 5 experts, 4 labels,
then 10 % more judgments): the warm start reached the cold answer (to 1e-6) in 118 and a
lower maximum in 2; it took fewer iterations than the cold start in 72 % and 78 % of the
projects, but only 3 to 5 % fewer at the median (14,403 iterations in all against 15,076,
and 15,328 against 15,302). EM's slowest directions are the least determined parameters,
which are also the ones new judgments move, so starting near the old answer saves little
at a tolerance of 1e-10; a start from the previous confusion matrices and priors (one E-step
on the current judgments) did worse (fewer iterations in 47 % and 58 %, 7 lower maxima).
Recompute in a batch lane, not per event.

**Judgments** are ``(item_id, expert_id, label)`` triples of strings; each triple is one
observation (an expert judging the same item twice counts twice, as in Dawid and Skene's
paper and crowd-kit: callers keep an expert's latest judgment per item). Items, experts and
labels are sorted (code-point order, as ``sorted``); ties of the most likely label go to the
first label.

*Performance* (measured on the development machine, numpy vectorised over a sparse item x
(expert, given label) count matrix, no Python loop per judgment or per iteration step):
100,000 judgments (20,000 items, 5 of 20 experts each, 10 labels, accuracies 0.5 to 0.95)
take 1.5 to 1.7 s from the triples to a converged result: 0.25 s to build the arrays, then
330 iterations of about 5 ms. The estimated accuracies were within 0.013 of the simulated
ones. A warm start after 100 more judgments on new items took 0.6 s (88 iterations).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = [
    "EPS",
    "MAX_ITER",
    "SCHEMA",
    "TOL",
    "DawidSkeneResult",
    "ExpertSummary",
    "dawid_skene",
    "expert_summary",
]

#: The guard against log(0): priors and error counts are clipped at it (crowd-kit's _EPS).
EPS = 1e-10
#: Stop when no parameter moved by more than this in an iteration.
TOL = 1e-10
#: Iterations at most.
MAX_ITER = 10_000
#: The ``schema`` of a stored result.
SCHEMA = "quorum.metrics.dawid-skene.v1"

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DawidSkeneResult:
    """A Dawid-Skene estimate. ``labels``, ``experts`` and ``items`` are sorted; ``priors``
    is ``(labels,)``, ``confusion`` is ``(experts, labels, labels)`` with
    ``confusion[e, k, l]`` = P(expert ``e`` gives ``labels[l]`` | true label ``labels[k]``),
    ``posteriors`` is ``(items, labels)`` and ``most_likely`` the label of each item's
    largest posterior. ``judgments`` counts each expert's judgments. ``log_likelihood`` is
    the observed-data log-likelihood (natural log) of the returned parameters,
    ``sum_i log sum_k max(p[k], 1e-10) prod_j pi[e_j, k, l_j]``. ``reason`` says why the
    estimate is empty or tells nothing about the experts (no judgments, one expert, one
    label); it is ``None`` otherwise."""

    labels: tuple[str, ...]
    experts: tuple[str, ...]
    items: tuple[str, ...]
    priors: Floats
    confusion: Floats
    posteriors: Floats
    most_likely: tuple[str, ...]
    judgments: tuple[int, ...]
    iterations: int
    converged: bool
    log_likelihood: float | None
    tol: float = TOL
    max_iter: int = MAX_ITER
    reason: str | None = None

    def to_document(self) -> dict[str, Any]:
        """Plain data (strings, numbers, lists) that :meth:`from_document` restores. No label,
        expert or item id is ever a key: priors, confusion rows and columns and posteriors are
        lists aligned with ``labels``; experts and items are lists of records."""
        return {
            "schema": SCHEMA,
            "labels": list(self.labels),
            "priors": self.priors.tolist(),
            "experts": [
                {"expert_id": e, "judgments": n, "confusion": matrix}
                for e, n, matrix in zip(
                    self.experts, self.judgments, self.confusion.tolist(), strict=True
                )
            ],
            "items": [
                {"item_id": i, "posterior": posterior, "label": label}
                for i, posterior, label in zip(
                    self.items, self.posteriors.tolist(), self.most_likely, strict=True
                )
            ],
            "iterations": self.iterations,
            "converged": self.converged,
            "log_likelihood": self.log_likelihood,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "reason": self.reason,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> DawidSkeneResult:
        """The result a :meth:`to_document` stored."""
        if document.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        labels = tuple(str(label) for label in document["labels"])
        k = len(labels)
        experts = list(document["experts"])
        items = list(document["items"])
        log_likelihood = document["log_likelihood"]
        return cls(
            labels=labels,
            experts=tuple(str(e["expert_id"]) for e in experts),
            items=tuple(str(i["item_id"]) for i in items),
            priors=np.array(document["priors"], dtype=np.float64).reshape(k),
            confusion=np.array([e["confusion"] for e in experts], dtype=np.float64).reshape(
                len(experts), k, k
            ),
            posteriors=np.array([i["posterior"] for i in items], dtype=np.float64).reshape(
                len(items), k
            ),
            most_likely=tuple(str(i["label"]) for i in items),
            judgments=tuple(int(e["judgments"]) for e in experts),
            iterations=int(document["iterations"]),
            converged=bool(document["converged"]),
            log_likelihood=None if log_likelihood is None else float(log_likelihood),
            tol=float(document["tol"]),
            max_iter=int(document["max_iter"]),
            reason=None if document["reason"] is None else str(document["reason"]),
        )


@dataclass(frozen=True)
class ExpertSummary:
    """One expert's estimated accuracy, ``sum_k p[k] · confusion[k, k]`` (the probability
    that their label is the true one on an item drawn from the priors), and their number of
    judgments."""

    expert_id: str
    accuracy: float
    judgments: int


def expert_summary(result: DawidSkeneResult) -> tuple[ExpertSummary, ...]:
    """Per expert, in ``result.experts`` order: estimated accuracy and judgments."""
    diagonal = np.diagonal(result.confusion, axis1=1, axis2=2)  # (experts, labels)
    accuracy = diagonal @ result.priors if result.experts else np.zeros(0)
    return tuple(
        ExpertSummary(e, float(a), n)
        for e, a, n in zip(result.experts, accuracy, result.judgments, strict=True)
    )


def _empty(tol: float, max_iter: int) -> DawidSkeneResult:
    return DawidSkeneResult(
        labels=(),
        experts=(),
        items=(),
        priors=np.zeros(0),
        confusion=np.zeros((0, 0, 0)),
        posteriors=np.zeros((0, 0)),
        most_likely=(),
        judgments=(),
        iterations=0,
        converged=False,
        log_likelihood=None,
        tol=tol,
        max_iter=max_iter,
        reason="no judgments",
    )


class _Data:
    """The judgments as index arrays and the sparse counts the two steps multiply by."""

    def __init__(self, triples: list[tuple[str, str, str]]) -> None:
        for triple in triples:
            if len(triple) != 3 or not all(isinstance(part, str) for part in triple):
                raise ValueError(f"{triple!r} is not an (item_id, expert_id, label) of strings")
        columns = np.array(triples, dtype=object).T
        items, item = np.unique(columns[0], return_inverse=True)
        experts, expert = np.unique(columns[1], return_inverse=True)
        labels, label = np.unique(columns[2], return_inverse=True)
        self.items = tuple(str(i) for i in items)
        self.experts = tuple(str(e) for e in experts)
        self.labels = tuple(str(label) for label in labels)
        n_items, n_experts, k = len(items), len(experts), len(labels)
        self.item: Ints = item.astype(np.int64)
        self.label: Ints = label.astype(np.int64)
        given = expert.astype(np.int64) * k + self.label  # (expert, given label) cell
        ones = np.ones(len(triples))
        # items x (expert, given label): how often the expert gave the label to the item
        self.counts = sparse.csr_matrix((ones, (self.item, given)), shape=(n_items, n_experts * k))
        self.counts_t = self.counts.T.tocsr()
        # the (expert, given label) cells used at least once: the only ones clipped
        per_cell = np.bincount(given, minlength=n_experts * k).reshape(n_experts, k)
        self.used = per_cell > 0  # (experts, given labels)
        self.judgments = tuple(int(n) for n in per_cell.sum(axis=1))

    def majority_vote(self) -> Floats:
        k = len(self.labels)
        cells = np.bincount(self.item * k + self.label, minlength=len(self.items) * k)
        votes = cells.reshape(len(self.items), k).astype(np.float64)
        normalised: Floats = votes / votes.sum(axis=1, keepdims=True)
        return normalised


def _m_step(data: _Data, posteriors: Floats) -> tuple[Floats, Floats]:
    k = len(data.labels)
    priors: Floats = posteriors.mean(axis=0)
    # (expert, given label) x true label -> (experts, true, given)
    cells = np.asarray(data.counts_t @ posteriors).reshape(len(data.experts), k, k)
    counts = cells.transpose(0, 2, 1)
    counts = np.where(data.used[:, None, :], np.maximum(counts, EPS), counts)
    confusion: Floats = counts / counts.sum(axis=2, keepdims=True)
    return priors, confusion


def _e_step(data: _Data, priors: Floats, confusion: Floats) -> tuple[Floats, float]:
    k = len(data.labels)
    # log pi as (expert, given label) x true label; cells never used are never multiplied
    logs = np.log(np.where(confusion > 0, confusion, 1.0)).transpose(0, 2, 1).reshape(-1, k)
    joint = np.log(np.maximum(priors, EPS)) + np.asarray(data.counts @ logs)
    top = joint.max(axis=1, keepdims=True)
    scaled = np.exp(joint - top)
    total = scaled.sum(axis=1, keepdims=True)
    log_likelihood = float((top + np.log(total)).sum())
    posteriors: Floats = scaled / total
    return posteriors, log_likelihood


def _positions(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Where each of ``new`` is in the sorted ``old``, and whether it is there at all."""
    old_names = np.array(old, dtype=object)
    new_names = np.array(new, dtype=object)
    position = np.searchsorted(old_names, new_names).clip(0, len(old) - 1)
    return position.astype(np.int64), old_names[position] == new_names


def _warm(data: _Data, previous: DawidSkeneResult) -> Floats:
    """The previous posteriors of the items it knew, over the labels met now; the majority
    vote for the items it cannot place (see the module docstring)."""
    start = data.majority_vote()
    if not previous.items or not previous.labels:
        return start
    column, known_label = _positions(previous.labels, data.labels)
    row, known_item = _positions(previous.items, data.items)
    carried = np.where(known_label, previous.posteriors[np.ix_(row, column)], 0.0)
    mass = carried.sum(axis=1)
    placed = known_item & (mass > 0)
    placed[data.item[~known_label[data.label]]] = False  # given a label it did not know
    start[placed] = carried[placed] / mass[placed, None]
    return start


def dawid_skene(
    judgments: Iterable[tuple[str, str, str]],
    *,
    warm_start: DawidSkeneResult | None = None,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> DawidSkeneResult:
    """Estimate the priors, every expert's confusion matrix and every item's posterior from
    ``(item_id, expert_id, label)`` judgments by EM run until no parameter moves by ``tol``
    (or ``max_iter`` iterations), from the majority vote or from ``warm_start``'s posteriors.
    No judgments give an empty result with ``reason`` "no judgments"."""
    if not tol > 0:
        raise ValueError("tol is positive")
    if isinstance(max_iter, bool) or max_iter < 1:
        raise ValueError("max_iter is 1 or more")
    triples = list(judgments)
    if not triples:
        return _empty(tol, max_iter)
    data = _Data(triples)
    start = data.majority_vote() if warm_start is None else _warm(data, warm_start)
    priors, confusion = _m_step(data, start)
    iterations, converged = 0, False
    while iterations < max_iter:
        posteriors, _ = _e_step(data, priors, confusion)
        new_priors, new_confusion = _m_step(data, posteriors)
        change = max(
            float(np.abs(new_priors - priors).max()),
            float(np.abs(new_confusion - confusion).max()),
        )
        priors, confusion = new_priors, new_confusion
        iterations += 1
        if change < tol:
            converged = True
            break
    posteriors, log_likelihood = _e_step(data, priors, confusion)
    best = posteriors.argmax(axis=1)
    reason = None
    if len(data.labels) == 1:
        reason = "one label only: every judgment gives it"
    elif len(data.experts) == 1:
        reason = "one expert: without a second opinion their labels are taken as true"
    return DawidSkeneResult(
        labels=data.labels,
        experts=data.experts,
        items=data.items,
        priors=priors,
        confusion=confusion,
        posteriors=posteriors,
        most_likely=tuple(data.labels[b] for b in best),
        judgments=data.judgments,
        iterations=iterations,
        converged=converged,
        log_likelihood=log_likelihood,
        tol=tol,
        max_iter=max_iter,
        reason=reason,
    )
