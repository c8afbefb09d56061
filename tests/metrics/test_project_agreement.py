"""A project's agreement kept by increments (``services.metrics.project_agreement``): after
every judgment, in any order, with repeats, rubric versions and presence fields that appear
late, each view's tallies equal a plain batch computation from the judgments so far; and the
state never holds per-item data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.agreement import AgreementState, Tally
from services.metrics.fields import scale_of
from services.metrics.project_agreement import (
    ALL,
    Entry,
    ProjectAgreement,
    chosen,
    entry_document,
    entry_of,
    merged,
)
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import JudgmentSubmittedV1, RubricRef, Verdict
from tests.metrics.judgments import T0, judgment, per_field_by_hand


@st.composite
def judgments(draw: st.DrawFn) -> list[JudgmentSubmittedV1]:
    count = draw(st.integers(1, 40))
    out = []
    for n in range(count):
        out.append(
            judgment(
                "p",
                n,
                draw(st.integers(0, 5)),
                draw(st.integers(0, 3)),
                verdict=draw(st.sampled_from([None, *Verdict])),
                severity=draw(st.sampled_from(list(Severity))),
                ratings=draw(
                    st.dictionaries(
                        st.sampled_from(["clarity", "accuracy"]), st.sampled_from([1.0, 2.0, 3.0])
                    )
                ),
                flags=draw(st.lists(st.sampled_from(["ambiguous", "occlusion"]), unique=True)),
                labels=[
                    Label(class_id=c)
                    for c in draw(st.lists(st.sampled_from(["cat", "dog", "eel"]), unique=True))
                ],
                rubric_ref=RubricRef(rubric_id="r", version=draw(st.integers(1, 2))),
                # equal times happen: the judgment id decides
                submitted_at=T0 + timedelta(seconds=draw(st.integers(0, 20))),
            )
        )
    return out


def by_hand(js: list[JudgmentSubmittedV1], version: int) -> dict[str, dict[str, Any]]:
    """Each field's tally computed in batch from a plain reference of its judgments."""
    judged = per_field_by_hand(js, None if version == ALL else version)
    return {
        name: AgreementState.from_judgments(scale_of(name), values).tally.to_dict()
        for name, values in judged.items()
    }


def tallies(state: ProjectAgreement, version: int) -> dict[str, dict[str, Any]]:
    view = state.views.get(version)
    if view is None:
        return {}
    return {name: t.to_dict() for name, t in view.fields().items() if t.item_count}


@settings(max_examples=150, deadline=None)
@given(judgments(), st.randoms(use_true_random=False))
def test_the_state_after_each_judgment_equals_a_batch_computation(
    js: list[JudgmentSubmittedV1], random: Any
) -> None:
    order = list(js)
    random.shuffle(order)  # arrival order is not submission order
    state = ProjectAgreement()
    items: dict[str, list[Entry]] = {}
    for seen, j in enumerate(order, start=1):
        before = items.get(j.item_id, [])
        after = merged(before, Entry.of(j))
        state.replace_item(before, after)
        items[j.item_id] = after
        if seen % 7 == 0 or seen == len(order):
            for version in (ALL, 1, 2):
                assert tallies(state, version) == by_hand(order[:seen], version), version
    # a rebuild from the stored items is the same state
    rebuilt = ProjectAgreement.of_items(items.values())
    for version in (ALL, 1, 2):
        assert tallies(rebuilt, version) == tallies(state, version)


@settings(max_examples=60, deadline=None)
@given(judgments())
def test_a_repeated_judgment_changes_nothing(js: list[JudgmentSubmittedV1]) -> None:
    state = ProjectAgreement()
    items: dict[str, list[Entry]] = {}
    for j in js + js:  # everything twice
        before = items.get(j.item_id, [])
        after = merged(before, Entry.of(j))
        state.replace_item(before, after)
        items[j.item_id] = after
    for version in (ALL, 1, 2):
        assert tallies(state, version) == by_hand(js, version)


def test_a_window_counts_only_the_judgments_submitted_since_its_start() -> None:
    old = judgment("p", 1, 0, 0, verdict="accept")
    new = [judgment("p", 10 + e, 0, e + 1, verdict="reject") for e in range(2)]
    items = [merged(merged([Entry.of(old)], Entry.of(new[0])), Entry.of(new[1]))]
    since = new[0].submitted_at
    windowed = ProjectAgreement.of_items(items, since)
    assert tallies(windowed, ALL) == by_hand(new, ALL)
    assert windowed.views[ALL].fields()["verdict"].item_count == 1
    assert windowed.views[ALL].fields()["verdict"].judgment_count == 2


def test_entries_round_trip_through_their_documents_to_the_millisecond() -> None:
    j = judgment(
        "p",
        1,
        0,
        0,
        verdict="accept",
        flags=["a.b$c"],
        ratings={"x.y": 2.0},
        submitted_at=T0 + timedelta(microseconds=123_456),
    )
    entry = Entry.of(j)
    assert entry.submitted_at == T0 + timedelta(microseconds=123_000)
    assert entry_of(entry_document(entry)) == entry
    assert entry.fields["flag.a.b$c"] == "true" and entry.fields["rating.x.y"] == 2.0


def test_the_latest_entry_of_an_expert_is_chosen_per_view() -> None:
    v1 = Entry.of(judgment("p", 5, 0, 0, verdict="accept"))
    v2 = Entry.of(
        judgment("p", 3, 0, 0, verdict="reject", rubric_ref=RubricRef(rubric_id="r", version=2))
    )
    entries = merged([v1], v2)
    assert chosen(entries, ALL) == {"e0": v1}
    assert chosen(entries, 2) == {"e0": v2}
    # an earlier judgment of the same expert and version does not replace a later one
    assert merged(entries, Entry.of(judgment("p", 1, 0, 0, verdict="correct"))) == entries


def test_the_state_holds_no_per_item_data() -> None:
    js = [judgment("p", n, n // 3, n % 3, verdict="accept") for n in range(300)]
    state = ProjectAgreement()
    items: dict[str, list[Entry]] = {}
    for j in js:
        before = items.get(j.item_id, [])
        items[j.item_id] = merged(before, Entry.of(j))
        state.replace_item(before, items[j.item_id])
    verdict: Tally = state.views[ALL].fields()["verdict"]
    assert verdict.item_count == 100
    # one profile (three accepts), three experts, three pairs: nothing grows with the items
    assert len(verdict.profiles) == 1 and len(verdict.pairs) == 3
    assert not hasattr(verdict, "items")


def test_one_rubric_version_shares_its_view_until_a_second_version_splits_them() -> None:
    v1 = [judgment("p", n, n // 2, n % 2, verdict="accept") for n in range(4)]
    state = ProjectAgreement.of_items(
        [[Entry.of(j) for j in v1[:2]], [Entry.of(j) for j in v1[2:]]]
    )
    assert state.views[1] is state.views[ALL]  # updated once
    assert state.take_changed() == {
        ALL: {"verdict", "severity", "@latest"},
        1: {"verdict", "severity", "@latest"},
    }
    later = judgment("p", 9, 0, 2, verdict="reject", rubric_ref=RubricRef(rubric_id="r", version=2))
    before = [Entry.of(j) for j in v1[:2]]
    state.replace_item(before, merged(before, Entry.of(later)))
    assert state.views[1] is not state.views[ALL]
    assert tallies(state, 1) == by_hand(v1, 1)
    assert tallies(state, 2) == by_hand([later], 2)
    assert tallies(state, ALL) == by_hand([*v1, later], ALL)
