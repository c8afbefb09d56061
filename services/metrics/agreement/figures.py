"""Agreement figures computed on read from a :class:`Tally` (or the :class:`AgreementState`
holding one).

Every figure is an :class:`Estimate`: its value, ``n`` (the items it used), a 95 % interval,
an analytic standard error where the method has one, and a reason when the value or the
interval is undefined (``value`` and ``ci`` are then ``None``; nothing raises or returns NaN).

* **Krippendorff's alpha** at each level the scale admits, ``1 - D_o / D_e`` from the
  coincidence matrix with the nominal, ordinal, interval or ratio difference function as
  Krippendorff defines them (and the ``krippendorff`` package computes them). ``n`` is the
  number of pairable items (two judgments or more). Interval: a **percentile bootstrap over
  items**: B = 1000 resamples, with replacement, of the pairable items (drawn as multinomial
  counts over the distinct per-item count vectors, which is the same distribution), NumPy's
  PCG64 seeded with 22, alpha recomputed from each resample's coincidence matrix, and the 2.5th
  and 97.5th percentiles (linear interpolation) of the replicates where alpha is defined.
* **Fleiss' kappa** with a varying number of judgments per item, Gwet's generalisation
  (Gwet 2014, as ``irrCAC.raw.CAC.fleiss``): percent agreement averaged over items with two
  judgments or more, chance agreement from the per-item value proportions averaged over all
  items with a judgment (``n``). Standard error: Gwet's linearisation,
  ``var = 1 / (n (n - 1)) * sum_i (k*_i - k)^2`` (no finite-population correction); interval
  ``k ± t(0.975, n - 1) * se``, upper bound capped at 1, as irrCAC gives it.
* **Gwet's AC1** (identity weights) and **AC2** (linear, quadratic, ordinal weights as irrCAC's
  ``Weights`` defines them; numeric scales use their values, others positions 1..q), with the
  same standard error and interval construction (``irrCAC.raw.CAC.gwet``). Chance agreement
  uses the number of values on the full scale.
* **Cohen's kappa** per expert pair over the items both judged: unweighted, linear and
  quadratic (disagreement weights ``|i - j| / (q - 1)`` and ``((i - j) / (q - 1))^2`` on the
  positions in the full ordered scale, as ``sklearn.metrics.cohen_kappa_score(labels=scale)``
  and ``statsmodels.stats.inter_rater.cohens_kappa(wt=...)``), with statsmodels' asymptotic
  variance (``var_kappa``) and the normal interval ``k ± z(0.975) * se``.
* **Percent agreement**: the share of pairable items on which every judgment agrees, and per
  pair the share of items both judged on which they agree, with Wilson's 95 % score interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.sparse import csr_array

from services.metrics.agreement.scale import (
    Floats,
    Level,
    Value,
    gwet_weights,
    numeric_positions,
)
from services.metrics.agreement.state import AgreementState, Cells, Tally

#: what the figures are computed from: a tally, or a state holding one
Stats = AgreementState | Tally

BOOTSTRAP_REPLICATES = 1000
BOOTSTRAP_SEED = 22
CONFIDENCE = 0.95
AC2_WEIGHTS = ("linear", "quadratic", "ordinal")
COHEN_WEIGHTS = ("unweighted", "linear", "quadratic")
_Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n: int
    ci: tuple[float, float] | None = None
    se: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "n": self.n,
            "ci": None if self.ci is None else [self.ci[0], self.ci[1]],
        }
        if self.se is not None:
            out["se"] = self.se
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def undefined(n: int, reason: str) -> Estimate:
    return Estimate(None, n, None, None, reason)


# -- dense views of the state ----------------------------------------------------------------


def _index(values: tuple[Value, ...]) -> dict[Value, int]:
    return {v: i for i, v in enumerate(values)}


def profile_matrix(state: Stats, values: tuple[Value, ...]) -> tuple[Floats, Floats]:
    """The distinct per-item count vectors (rows, in a canonical order) and how many items
    have each."""
    index = _index(values)
    profiles = sorted(state.profiles.items(), key=lambda pn: [(index[v], c) for v, c in pn[0]])
    counts = np.zeros((len(profiles), len(values)))
    items = np.zeros(len(profiles))
    for j, (profile, n) in enumerate(profiles):
        for v, c in profile:
            counts[j, index[v]] = c
        items[j] = n
    return counts, items


def _dense(cells: Cells, index: dict[Value, int]) -> Floats:
    out = np.zeros((len(index), len(index)))
    for (a, b), n in cells.items():
        out[index[a], index[b]] += n
    return out


def coincidence_matrix(state: Stats, values: tuple[Value, ...]) -> Floats:
    index = _index(values)
    o = np.zeros((len(values), len(values)))
    for m, cells in sorted(state.coincidence.items()):
        o += _dense(cells, index) / (m - 1)
    return o


# -- Krippendorff's alpha --------------------------------------------------------------------


def _distances(level: Level, x: Floats, n_v: Floats) -> Floats:
    """Squared differences delta^2(c, k) for each pair of values; ``n_v`` (..., q) may carry
    leading batch axes (the ordinal metric depends on the marginals)."""
    q = x.shape[0]
    if level is Level.nominal:
        d = 1.0 - np.eye(q)
        return np.broadcast_to(d, (*n_v.shape[:-1], q, q))
    if level is Level.ordinal:
        cum = np.cumsum(n_v, axis=-1)
        i = np.arange(q)
        lo, hi = np.minimum(i[:, None], i[None, :]), np.maximum(i[:, None], i[None, :])
        between = cum[..., hi] - cum[..., lo] + n_v[..., lo]
        half = (n_v[..., :, None] + n_v[..., None, :]) / 2.0
        return np.asarray((between - half) ** 2, dtype=np.float64)
    diff = x[:, None] - x[None, :]
    if level is Level.interval:
        d = diff**2
    else:
        total = x[:, None] + x[None, :]
        d = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    return np.broadcast_to(d, (*n_v.shape[:-1], q, q))


def _alpha(o: Floats, level: Level, x: Floats) -> Floats:
    """Alpha from coincidence matrices ``o`` (..., q, q); NaN where undefined."""
    n_v = o.sum(axis=-2)
    total = n_v.sum(axis=-1)
    e = (n_v[..., :, None] * n_v[..., None, :] - np.eye(o.shape[-1]) * n_v[..., None, :]) / (
        total[..., None, None] - 1.0
    )
    d = _distances(level, x, n_v)
    d_o = (o * d).sum(axis=(-2, -1))
    d_e = (e * d).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(d_e > 0, 1.0 - d_o / np.where(d_e > 0, d_e, 1.0), np.nan))


def krippendorff_alpha(
    state: Stats,
    level: Level,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    values = state.ordered_values()
    counts, items = profile_matrix(state, values)
    m = counts.sum(axis=1)
    pairable = m >= 2
    n = int(items[pairable].sum())
    if n == 0:
        return undefined(0, "no item has two judgments")
    if level in (Level.interval, Level.ratio) and any(isinstance(v, str) for v in values):
        return undefined(n, f"{level} alpha needs numeric values")
    x = numeric_positions(values)
    value = float(_alpha(coincidence_matrix(state, values), level, x))
    if math.isnan(value):
        return undefined(n, "the pairable judgments do not vary: expected disagreement is 0")
    # the bootstrap: each pairable profile's coincidence contribution, resampled over items
    c = counts[pairable]
    q = len(values)
    contributions = (c[:, :, None] * c[:, None, :] - c[:, None, :] * np.eye(q)) / (
        m[pairable] - 1.0
    )[:, None, None]
    rng = np.random.Generator(np.random.PCG64(seed))
    draws = rng.multinomial(n, items[pairable] / n, size=replicates).astype(np.float64)
    # a profile touches few of the q x q cells: a sparse product keeps a replicate's cost in
    # the cells profiles touch rather than in profiles x q^2
    sparse = csr_array(contributions.reshape(len(c), q * q))
    resampled = (sparse.T @ draws.T).T.reshape(replicates, q, q)
    alphas = _alpha(resampled, level, x)
    alphas = alphas[~np.isnan(alphas)]
    if alphas.size < replicates / 2:
        return Estimate(value, n, None, None, "alpha is undefined in most bootstrap resamples")
    lo, hi = np.percentile(alphas, [2.5, 97.5])
    return Estimate(value, n, (float(lo), float(hi)))


# -- Fleiss' kappa, Gwet's AC1 / AC2 ---------------------------------------------------------


def _chance_corrected(state: Stats, weights: str, method: str) -> Estimate:
    values = state.ordered_values()
    q = len(values)
    counts, items = profile_matrix(state, values)
    n = float(items.sum())
    r = counts.sum(axis=1)
    two = r >= 2
    n2 = float(items[two].sum())
    if n2 == 0:
        return undefined(int(n), "no item has two judgments")
    if q < 2:
        return undefined(int(n), "the scale has a single value")
    w = gwet_weights(weights, values)
    sum_q = (counts * (counts @ w.T - 1.0)).sum(axis=1)
    den = r * (r - 1.0)
    pa = float((items[two] * sum_q[two] / den[two]).sum() / n2)
    pi = (items[:, None] * counts / r[:, None]).sum(axis=0) / n
    if method == "fleiss":
        pe = float((w * np.outer(pi, pi)).sum())
    else:
        pe = float(w.sum() * (pi * (1.0 - pi)).sum() / (q * (q - 1)))
    if pe >= 1.0:
        return undefined(int(n), "every judgment has the same value: chance agreement is 1")
    coef = (pa - pe) / (1.0 - pe)
    den = np.where(den == 0, -1.0, den)
    coef_i = (n / n2) * (sum_q / den - pe * two) / (1.0 - pe)
    if method == "fleiss":
        pi_w = (w @ pi + w.T @ pi) / 2.0
        pe_i = counts @ pi_w / r
    else:
        pe_i = (w.sum() / (q * (q - 1))) * (counts @ (1.0 - pi)) / r
    x = coef_i - 2.0 * (1.0 - coef) * (pe_i - pe) / (1.0 - pe)
    if n < 2:
        return Estimate(coef, int(n), None, None, "a standard error needs two items")
    se = math.sqrt(float((items * (x - coef) ** 2).sum()) / (n * (n - 1.0)))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
    return Estimate(coef, int(n), (coef - half, min(1.0, coef + half)), se)


def fleiss_kappa(state: Stats) -> Estimate:
    return _chance_corrected(state, "identity", "fleiss")


def gwet_ac(state: Stats, weights: str = "identity") -> Estimate:
    """AC1 with ``identity`` weights, AC2 with ``linear``, ``quadratic`` or ``ordinal``."""
    return _chance_corrected(state, weights, "gwet")


# -- Cohen's kappa per pair ------------------------------------------------------------------


def cohen_kappa(table: Floats, weights: str = "unweighted") -> Estimate:
    """Cohen's kappa of a q x q table over the full ordered scale, with statsmodels'
    ``cohens_kappa`` variance."""
    nobs = float(table.sum())
    q = table.shape[0]
    if nobs == 0:
        return undefined(0, "no item judged by both")
    probs = table / nobs
    row, col = table.sum(1) / nobs, table.sum(0) / nobs
    expected = col * row[:, None]
    if weights == "unweighted":
        agree_exp = float(np.trace(expected))
        if agree_exp >= 1.0:
            return undefined(int(nobs), "both experts gave one and the same value throughout")
        kappa = (float(np.trace(probs)) - agree_exp) / (1.0 - agree_exp)
        term_a = (np.diag(probs) * (1 - (row + col) * (1 - kappa)) ** 2).sum()
        term_b = probs * (col[:, None] + row) ** 2
        np.fill_diagonal(term_b, 0.0)
        term_b_sum = (1 - kappa) ** 2 * term_b.sum()
        term_c = (kappa - agree_exp * (1 - kappa)) ** 2
        var = (term_a + term_b_sum - term_c) / (1 - agree_exp) ** 2 / nobs
    else:
        if q < 2:
            return undefined(int(nobs), "the scale has a single value")
        pos = np.arange(q, dtype=np.float64)
        dist = np.abs(pos[:, None] - pos[None, :]) / (q - 1)
        if weights == "quadratic":
            dist = dist**2
        elif weights != "linear":
            raise ValueError(f"unknown weights {weights!r}")
        expected_disagreement = float((dist * expected).sum())
        if expected_disagreement <= 0.0:
            return undefined(int(nobs), "both experts gave one and the same value throughout")
        kappa = 1.0 - float((dist * table).sum()) / nobs / expected_disagreement
        agreement = 1.0 - dist
        w_row = (col * agreement).sum(1)
        w_col = (row[:, None] * agreement).sum(0)
        agree_wexp = float((agreement * expected).sum())
        term = probs * (agreement - (w_col + w_row[:, None]) * (1 - kappa)) ** 2
        var = (term.sum() - (kappa - agree_wexp * (1 - kappa)) ** 2) / (
            (1 - agree_wexp) ** 2 * nobs
        )
    se = math.sqrt(max(float(var), 0.0))
    return Estimate(kappa, int(nobs), (kappa - _Z * se, kappa + _Z * se), se)


# -- percent agreement -----------------------------------------------------------------------


def wilson(successes: int, trials: int) -> Estimate:
    """A proportion with Wilson's score interval."""
    if trials == 0:
        return undefined(0, "no item to compare")
    p = successes / trials
    z2 = _Z**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = _Z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2))
    return Estimate(p, trials, (centre - half, centre + half))


def percent_agreement(state: Stats) -> Estimate:
    """The share of items with two judgments or more on which all judgments agree."""
    pairable = unanimous = 0
    for profile, n in state.profiles.items():
        if sum(c for _, c in profile) >= 2:
            pairable += n
            unanimous += n if len(profile) == 1 else 0
    if pairable == 0:
        return undefined(0, "no item has two judgments")
    return wilson(unanimous, pairable)


# -- everything ------------------------------------------------------------------------------


def pair_tables(state: Stats) -> list[tuple[str, str, Floats]]:
    values = state.ordered_values()
    index = _index(values)
    return [(a, b, _dense(cells, index)) for (a, b), cells in sorted(state.pairs.items())]


def figures(state: Stats) -> dict[str, Any]:
    """Every agreement figure of the field, as plain JSON-able data (docs/metrics.md)."""
    values = state.ordered_values()
    levels = state.scale.levels(values)
    ordered = state.scale.level is not Level.nominal
    items = state.item_count
    not_ordered = "the field is nominal: weights need an ordered scale"
    pairs = []
    for a, b, table in pair_tables(state):
        entry: dict[str, Any] = {"a": a, "b": b, "n": int(table.sum())}
        for weights in COHEN_WEIGHTS:
            estimate = (
                cohen_kappa(table, weights)
                if weights == "unweighted" or ordered
                else undefined(int(table.sum()), not_ordered)
            )
            entry[weights] = estimate.to_dict()
        entry["percent_agreement"] = wilson(int(np.trace(table)), int(table.sum())).to_dict()
        pairs.append(entry)
    return {
        "level": state.scale.level.value,
        "scale": list(values),
        "items": items,
        "judgments": state.judgment_count,
        "experts": state.expert_count,
        "krippendorff_alpha": {
            level.value: krippendorff_alpha(state, level).to_dict() for level in levels
        },
        "fleiss_kappa": fleiss_kappa(state).to_dict(),
        "gwet_ac1": gwet_ac(state).to_dict(),
        "gwet_ac2": {
            w: (gwet_ac(state, w) if ordered else undefined(items, not_ordered)).to_dict()
            for w in AC2_WEIGHTS
        },
        "percent_agreement": percent_agreement(state).to_dict(),
        "cohen_kappa": {"pairs": pairs},
    }
