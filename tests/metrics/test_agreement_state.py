"""The agreement state: one judgment at a time equals the batch computation from all the
judgments, after every event; it round-trips through plain dicts; small cases computed by
hand and published examples; undefined cases say why instead of raising or returning NaN."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.metrics.agreement import (
    AgreementState,
    Level,
    Scale,
    cohen_kappa,
    field_agreement,
    figures,
    fleiss_kappa,
    gwet_ac,
    krippendorff_alpha,
    percent_agreement,
)
from tests.metrics.agreement_data import Ratings, ratings

Event = tuple[str, str, str, int]  # (record | withdraw, item, expert, value index)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[Ratings, list[Event]]:
    data = draw(ratings(max_items=8, max_experts=4))
    items = [*sorted(data.table), "late"]
    experts = data.experts
    events = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["record", "record", "record", "withdraw"]),
                st.sampled_from(items),
                st.sampled_from(experts),
                st.integers(0, len(data.values) - 1),
            ),
            max_size=40,
        )
    )
    return data, events


def keys_are_strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and keys_are_strings(v) for k, v in value.items())
    if isinstance(value, list):
        return all(keys_are_strings(v) for v in value)
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_streams())
def test_the_state_after_each_event_equals_the_batch_recomputation_from_all_judgments(
    stream: tuple[Ratings, list[Event]],
) -> None:
    data, events = stream
    state = AgreementState(data.scale)
    current: dict[tuple[str, str], object] = {}
    for op, item, expert, k in events:
        if op == "record":
            state.record(item, expert, data.values[k])
            current[(item, expert)] = data.values[k]
        else:
            state.withdraw(item, expert)
            current.pop((item, expert), None)
        batch = AgreementState.from_judgments(
            data.scale, [(i, e, v) for (i, e), v in current.items()]
        )
        assert state == batch
        assert state.to_dict() == batch.to_dict()
    assert figures(state) == figures(
        AgreementState.from_judgments(data.scale, [(i, e, v) for (i, e), v in current.items()])
    )


@settings(max_examples=100, deadline=None)
@given(ratings())
def test_the_state_round_trips_through_plain_json_safe_dicts_with_string_keys(
    data: Ratings,
) -> None:
    state = AgreementState.from_judgments(data.scale, data.judgments)
    stored = json.loads(json.dumps(state.to_dict()))
    assert keys_are_strings(stored)
    restored = AgreementState.from_dict(stored)
    assert restored == state
    assert figures(restored) == figures(state)


def test_recording_the_same_value_twice_changes_nothing_and_a_revision_replaces_the_first() -> None:
    state = AgreementState(Scale(Level.nominal, ("a", "b")))
    assert state.record("i", "e1", "a")
    assert state.record("i", "e2", "a")
    assert not state.record("i", "e2", "a")
    assert state.record("i", "e2", "b")
    assert state.pairs == {("e1", "e2"): {("a", "b"): 1}}
    assert state.profiles == {(("a", 1), ("b", 1)): 1}
    assert state.coincidence == {2: {("a", "b"): 1, ("b", "a"): 1}}


def test_a_value_off_a_closed_scale_is_refused() -> None:
    state = AgreementState(Scale(Level.ordinal, (1, 2, 3)))
    with pytest.raises(ValueError, match="scale"):
        state.record("i", "e", 4)


def test_an_open_scale_orders_the_values_it_meets() -> None:
    state = AgreementState.from_judgments(
        Scale(Level.interval), [("i", "a", 3), ("i", "b", 1), ("j", "a", 2.0)]
    )
    assert state.ordered_values() == (1.0, 2.0, 3.0)


# -- small cases by hand and published examples ------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C: 4 observers,
# 12 units, missing values; published alpha nominal .743, ordinal .815, interval .849, ratio .797
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def krippendorff_2011() -> AgreementState:
    return AgreementState.from_judgments(
        Scale(Level.ratio, (1, 2, 3, 4, 5)),
        [
            (f"u{u}", f"o{o}", v)
            for o, row in enumerate(KRIPPENDORFF_2011)
            for u, v in enumerate(row)
            if v is not None
        ],
    )


@pytest.mark.parametrize(
    ("level", "published"),
    [
        (Level.nominal, 0.743),
        (Level.ordinal, 0.815),
        (Level.interval, 0.849),
        (Level.ratio, 0.797),
    ],
)
def test_alpha_reproduces_krippendorffs_published_example(level: Level, published: float) -> None:
    estimate = krippendorff_alpha(krippendorff_2011(), level)
    assert estimate.value == pytest.approx(published, abs=5e-4)
    assert estimate.n == 11  # unit 12 has a single value: not pairable
    assert estimate.ci is not None
    assert estimate.ci[0] < estimate.value < estimate.ci[1]


def test_the_bootstrap_interval_is_reproducible() -> None:
    a = krippendorff_alpha(krippendorff_2011(), Level.interval)
    b = krippendorff_alpha(krippendorff_2011(), Level.interval)
    assert a == b


# Gwet's 4-raters example (irrCAC.datasets.raw_4raters, Gwet 2014): AC1 .77544 (se .14295),
# Fleiss' kappa .76117 (se .15302), 12 subjects with 1 to 4 ratings each
GWET_4_RATERS = [
    [1, 1, None, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [None, 5, 5, 5],
    [None, None, 1, 1],
    [None, None, 3, None],
]


def gwet_4_raters() -> AgreementState:
    return AgreementState.from_judgments(
        Scale(Level.nominal, (1, 2, 3, 4, 5)),
        [
            (f"s{s}", f"r{r}", v)
            for s, row in enumerate(GWET_4_RATERS)
            for r, v in enumerate(row)
            if v is not None
        ],
    )


def test_ac1_and_fleiss_kappa_reproduce_gwets_four_raters_example() -> None:
    ac1 = gwet_ac(gwet_4_raters())
    kappa = fleiss_kappa(gwet_4_raters())
    assert (ac1.value, ac1.se, ac1.n) == (
        pytest.approx(0.77544, abs=5e-6),
        pytest.approx(0.14295, abs=5e-6),
        12,
    )
    assert (kappa.value, kappa.se) == (
        pytest.approx(0.76117, abs=5e-6),
        pytest.approx(0.15302, abs=5e-6),
    )
    assert ac1.ci == (pytest.approx(0.46081, abs=5e-6), 1.0)


def test_cohen_kappa_of_a_two_by_two_table_computed_by_hand() -> None:
    # observed agreement 35/50 = .7; chance (25*30 + 25*20)/50^2 = .5; kappa (.7-.5)/(1-.5)
    estimate = cohen_kappa(np.array([[20.0, 5.0], [10.0, 15.0]]))
    assert estimate.value == pytest.approx(0.4)
    assert estimate.n == 50


def test_linear_kappa_counts_a_near_miss_as_half_agreement_on_three_values() -> None:
    # items (1, 1) and (1, 2): observed disagreement (0 + 1/2) / 2 = .25; margins: rows
    # (1, 0, 0), columns (.5, .5, 0), so chance disagreement .5 * 1/2 = .25; kappa 1 - 1 = 0
    table = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert cohen_kappa(table, "linear").value == pytest.approx(0.0)


def test_percent_agreement_counts_unanimous_pairable_items_with_a_wilson_interval() -> None:
    state = AgreementState.from_judgments(
        Scale(Level.nominal, ("y", "n")),
        [("i", "a", "y"), ("i", "b", "y"), ("j", "a", "y"), ("j", "b", "n"), ("k", "a", "n")],
    )
    estimate = percent_agreement(state)
    assert (estimate.value, estimate.n) == (0.5, 2)  # k has one judgment: not pairable
    z = 1.959963984540054
    centre, half = (
        (0.5 + z * z / 4) / (1 + z * z / 2),
        z / (1 + z * z / 2) * math.sqrt(0.25 / 2 + z * z / 16),
    )
    assert estimate.ci == (pytest.approx(centre - half), pytest.approx(centre + half))


# -- undefined cases -------------------------------------------------------------------------


def test_with_no_item_judged_twice_every_figure_is_none_with_a_reason() -> None:
    out = field_agreement([("i", "a", 1), ("j", "b", 2)], Scale(Level.ordinal, (1, 2, 3)))
    for figure in (
        out["krippendorff_alpha"]["nominal"],
        out["krippendorff_alpha"]["ordinal"],
        out["fleiss_kappa"],
        out["gwet_ac1"],
        *out["gwet_ac2"].values(),
        out["percent_agreement"],
    ):
        assert figure["value"] is None
        assert figure["ci"] is None
        assert figure["reason"]
    assert out["cohen_kappa"] == {"pairs": []}


def test_when_everyone_gives_one_value_kappa_and_alpha_are_undefined_but_ac1_is_one() -> None:
    state = AgreementState.from_judgments(
        Scale(Level.nominal, ("y", "n")),
        [(i, e, "y") for i in ("i", "j", "k") for e in ("a", "b")],
    )
    assert krippendorff_alpha(state, Level.nominal).value is None
    assert fleiss_kappa(state).reason == "every judgment has the same value: chance agreement is 1"
    assert gwet_ac(state).value == pytest.approx(1.0)
    pair = figures(state)["cohen_kappa"]["pairs"][0]
    assert pair["unweighted"]["value"] is None
    assert pair["percent_agreement"]["value"] == 1.0


def test_no_figure_is_nan_and_the_report_is_json() -> None:
    out = field_agreement(
        [("i", "a", 1), ("i", "b", 1), ("j", "a", 2)], Scale(Level.interval, (1, 2, 3))
    )
    text = json.dumps(out, allow_nan=False)
    assert "NaN" not in text


def test_a_nominal_field_has_no_weighted_figures() -> None:
    out = field_agreement([("i", "a", "x"), ("i", "b", "y")], Scale(Level.nominal, ("x", "y")))
    assert out["gwet_ac2"]["linear"]["reason"].startswith("the field is nominal")
    assert out["cohen_kappa"]["pairs"][0]["quadratic"]["value"] is None
    assert set(out["krippendorff_alpha"]) == {"nominal"}
