"""The agreement figures equal the reference libraries to 1e-9 on random data with missing
values: krippendorff (alpha at each level), irrCAC (Fleiss' kappa with varying raters, Gwet's
AC1 and AC2, their standard errors and intervals), statsmodels (fleiss_kappa on constant rater
counts, cohens_kappa and its variance, Wilson intervals), sklearn (cohen_kappa_score).
The state is built one judgment at a time, in a shuffled order."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from irrCAC.raw import CAC
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from services.metrics.agreement import (
    AgreementState,
    Estimate,
    Level,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac,
    krippendorff_alpha,
    pair_tables,
    percent_agreement,
    wilson,
)
from services.metrics.agreement.figures import profile_matrix
from tests.metrics.agreement_data import Ratings, ratings

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEVELS_OF = {
    Level.nominal: (Level.nominal,),
    Level.ordinal: (Level.nominal, Level.ordinal),
    Level.interval: (Level.nominal, Level.ordinal, Level.interval),
    Level.ratio: (Level.nominal, Level.ordinal, Level.interval, Level.ratio),
}


def close(ours: float | None, reference: float) -> bool:
    return ours is not None and abs(ours - reference) <= 1e-9 * max(1.0, abs(reference))


def incremental(data: Ratings, seed: int) -> AgreementState:
    judgments = data.judgments
    random.Random(seed).shuffle(judgments)
    state = AgreementState(data.scale)
    for item, expert, value in judgments:
        state.record(item, expert, value)
    return state


def quietly(f: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return f(*args, **kwargs)
        except (ValueError, ZeroDivisionError):
            return None


@SETTINGS
@given(ratings(), st.integers(0, 10**6))
def test_krippendorff_alpha_equals_the_krippendorff_package_at_every_level(
    data: Ratings, seed: int
) -> None:
    state = incremental(data, seed)
    domain = [data.codes()[v] for v in data.values]
    for level in LEVELS_OF[data.scale.level]:
        ours = krippendorff_alpha(state, level, replicates=20)
        reference = quietly(
            krippendorff.alpha,
            reliability_data=data.matrix().T,
            value_domain=domain,
            level_of_measurement=level.value,
        )
        if reference is None or not math.isfinite(reference):
            assert ours.value is None
            assert ours.reason
        else:
            assert close(ours.value, reference), (level, ours, reference)
        pairable = sum(1 for r in data.table.values() if len(r) >= 2)
        assert ours.n == pairable


def irrcac(data: Ratings, weights: str) -> CAC:
    frame = pd.DataFrame(data.matrix())
    return CAC(frame, weights=weights, categories=[data.codes()[v] for v in data.values], digits=30)


def check_against_irrcac(ours: Estimate, reference: dict[str, Any], n: int) -> None:
    est = reference["est"]
    assert close(ours.value, float(est["coefficient_value"])), (ours, est)
    assert ours.n == n
    if n >= 2:
        assert ours.se is not None
        assert abs(ours.se - float(est["se"])) <= 1e-9 * max(1.0, float(est["se"]))
        assert ours.ci is not None
        lo, hi = est["confidence_interval"]
        assert close(ours.ci[0], float(lo))
        assert close(ours.ci[1], float(hi))


@SETTINGS
@given(ratings(), st.integers(0, 10**6))
def test_fleiss_kappa_with_varying_raters_and_its_se_equal_irrcac(data: Ratings, seed: int) -> None:
    state = incremental(data, seed)
    ours = fleiss_kappa(state)
    pairable = any(len(r) >= 2 for r in data.table.values())
    if len(data.table) < 2:  # irrCAC divides by n - 1; no standard error for one item
        assert ours.se is None
        assert ours.reason
        return
    reference = quietly(irrcac(data, "identity").fleiss)
    value = None if reference is None else float(reference["est"]["coefficient_value"])
    if not pairable or value is None or not math.isfinite(value):
        assert ours.value is None
        assert ours.reason
        return
    values = {v for ratings in data.table.values() for v in ratings.values()}
    if len(values) == 1:
        # one value throughout: chance agreement is 1 and kappa is 0/0. irrCAC reports 1.0;
        # Quorum reports no value, saying why (docs/metrics.md)
        assert ours.value is None and "chance agreement is 1" in (ours.reason or "")
        return
    assert reference is not None
    check_against_irrcac(ours, reference, len(data.table))


@SETTINGS
@given(ratings(levels=(Level.ordinal, Level.interval, Level.ratio)), st.integers(0, 10**6))
def test_gwet_ac1_and_ac2_with_each_weighting_and_their_se_equal_irrcac(
    data: Ratings, seed: int
) -> None:
    state = incremental(data, seed)
    pairable = any(len(r) >= 2 for r in data.table.values())
    for weights in ("identity", "linear", "quadratic", "ordinal"):
        ours = gwet_ac(state, weights)
        if len(data.table) < 2:  # irrCAC divides by n - 1; no standard error for one item
            assert ours.se is None
            assert ours.reason
            continue
        if not pairable:
            assert ours.value is None
            assert ours.reason
            continue
        reference = quietly(irrcac(data, weights).gwet)
        assert reference is not None
        check_against_irrcac(ours, reference, len(data.table))


@SETTINGS
@given(ratings(per_item=3, max_experts=6), st.integers(0, 10**6))
def test_fleiss_kappa_equals_statsmodels_where_every_item_has_as_many_judgments(
    data: Ratings, seed: int
) -> None:
    state = incremental(data, seed)
    codes = data.codes()
    rows = np.array([[codes[v] for v in r.values()] for _, r in sorted(data.table.items())])
    table, _ = aggregate_raters(rows, n_cat=None)
    reference = quietly(sm_fleiss_kappa, table)
    ours = fleiss_kappa(state)
    if reference is None or not math.isfinite(reference):
        assert ours.value is None
    else:
        assert close(ours.value, reference)


@SETTINGS
@given(ratings(levels=(Level.ordinal, Level.interval)), st.integers(0, 10**6))
def test_cohen_kappa_of_every_pair_equals_sklearn_and_statsmodels_with_its_variance(
    data: Ratings, seed: int
) -> None:
    state = incremental(data, seed)
    positions = list(range(len(data.values)))
    index = {v: i for i, v in enumerate(data.values)}
    tables = {(a, b): t for a, b, t in pair_tables(state)}
    experts = data.experts
    for ai, a in enumerate(experts):
        for b in experts[ai + 1 :]:
            both = [r for _, r in sorted(data.table.items()) if a in r and b in r]
            if not both:
                assert (a, b) not in tables
                continue
            table = tables[(a, b)]
            y1 = [index[r[a]] for r in both]
            y2 = [index[r[b]] for r in both]
            expected = np.zeros((len(positions), len(positions)))
            for i, j in zip(y1, y2, strict=True):
                expected[i, j] += 1
            assert np.array_equal(table, expected)
            for weights, wt, sk in (
                ("unweighted", None, None),
                ("linear", "linear", "linear"),
                ("quadratic", "quadratic", "quadratic"),
            ):
                ours = cohen_kappa(table, weights)
                assert ours.n == len(both)
                sk_value = quietly(cohen_kappa_score, y1, y2, labels=positions, weights=sk)
                sm = quietly(cohens_kappa, table, wt=wt)
                if sk_value is None or not math.isfinite(sk_value):
                    assert ours.value is None
                    assert ours.reason
                    continue
                assert close(ours.value, sk_value), (weights, ours, sk_value)
                assert close(ours.value, float(sm.kappa))
                assert ours.se is not None
                assert ours.ci is not None
                assert abs(ours.se**2 - float(sm.var_kappa)) <= 1e-9
                if float(sm.var_kappa) >= 1e-6:  # below, sqrt magnifies rounding noise
                    assert close(ours.se, float(sm.std_kappa))
                    assert close(ours.ci[0], float(sm.kappa_low))
                    assert close(ours.ci[1], float(sm.kappa_upp))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 200), st.integers(1, 200))
def test_wilson_interval_equals_statsmodels(successes: int, extra: int) -> None:
    trials = successes + extra - 1 if successes + extra - 1 > 0 else 1
    successes = min(successes, trials)
    ours = wilson(successes, trials)
    lo, hi = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    assert ours.ci is not None
    assert close(ours.value, successes / trials)
    assert close(ours.ci[0], float(lo))
    assert close(ours.ci[1], float(hi))


@SETTINGS
@given(ratings(), st.integers(0, 10**6))
def test_percent_agreement_is_the_share_of_pairable_items_whose_judgments_all_agree(
    data: Ratings, seed: int
) -> None:
    ours = percent_agreement(incremental(data, seed))
    pairable = [r for r in data.table.values() if len(r) >= 2]
    if not pairable:
        assert ours.value is None
        return
    unanimous = sum(1 for r in pairable if len(set(r.values())) == 1)
    assert ours.n == len(pairable)
    assert close(ours.value, unanimous / len(pairable))


@settings(max_examples=15, deadline=None)
@given(ratings(levels=(Level.interval,), max_items=15))
def test_each_alpha_bootstrap_replicate_is_krippendorffs_alpha_of_the_resampled_items(
    data: Ratings,
) -> None:
    """The interval is the percentile bootstrap the docstring states: pairable items resampled
    with replacement (multinomial over the distinct count vectors, PCG64 seeded), alpha of
    each resample computed by the krippendorff package, 2.5th and 97.5th percentiles."""
    state = AgreementState.from_judgments(data.scale, data.judgments)
    replicates, seed = 60, 7
    for level in (Level.nominal, Level.ordinal, Level.interval):
        ours = krippendorff_alpha(state, level, replicates=replicates, seed=seed)
        if ours.value is None:
            continue
        counts, items = profile_matrix(state, data.values)
        pairable = counts.sum(axis=1) >= 2
        counts, items = counts[pairable], items[pairable]
        n = int(items.sum())
        rng = np.random.Generator(np.random.PCG64(seed))
        draws = rng.multinomial(n, items / n, size=replicates)
        alphas = []
        for draw in draws:
            rows = np.repeat(counts, draw, axis=0)
            a = quietly(
                krippendorff.alpha,
                value_counts=rows,
                value_domain=[data.codes()[v] for v in data.values],
                level_of_measurement=level.value,
            )
            if a is not None and math.isfinite(a):
                alphas.append(a)
        if len(alphas) < replicates / 2:
            assert ours.ci is None
            continue
        lo, hi = np.percentile(alphas, [2.5, 97.5])
        assert ours.ci is not None
        assert ours.ci[0] == pytest.approx(lo, abs=1e-9)
        assert ours.ci[1] == pytest.approx(hi, abs=1e-9)
