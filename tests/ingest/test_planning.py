"""Registration planning, driven as the handler drives it against a model of the store: its
two unique keys (item id, and the content key of the item owning a content), items there
before the call, and a concurrent writer racing between waves."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.planning import (
    MAX_WAVES,
    Entry,
    Outcome,
    Placement,
    RegistrationPlan,
    content_key,
    item_id_for,
)


@dataclass
class Stored:
    checksum: str
    content_key: str
    duplicate_of: str | None


@dataclass
class Store:
    """What the media collection enforces: unique ids, and unique keys of content owners."""

    items: dict[str, Stored] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def insert(self, item_id: str, stored: Stored) -> bool:
        if item_id in self.items:
            return False
        if stored.duplicate_of is None:
            if stored.content_key in self.owners:
                return False
            self.owners[stored.content_key] = item_id
        self.items[item_id] = stored
        return True


def entry(external_id: str, project: str, content: str) -> Entry:
    return Entry(
        external_id=external_id,
        item_id=item_id_for("acme", external_id),
        content_key=content_key("acme", project, content),
        checksum=content,
    )


def run(plan: RegistrationPlan, store: Store, race: list[Entry]) -> list[list[Placement]]:
    """The handler's loop; ``race`` is registered by another caller after the plan looked up
    the owners of its first wave's contents and before it inserts them (the real window)."""
    waves = []
    while not plan.done:
        plan.learn_owners({k: store.owners[k] for k in plan.unknown_owners() if k in store.owners})
        wave = plan.wave()
        waves.append(wave)
        if len(waves) == 1:  # between the plan's look-up of owners and its insert
            for other in race:  # a concurrent call, registering what it registers
                owner = store.owners.get(other.content_key)
                store.insert(other.item_id, Stored(other.checksum, other.content_key, owner))
        refused = set()
        for placement in wave:
            e = plan.entries[placement.index]
            if not store.insert(
                e.item_id, Stored(e.checksum, e.content_key, placement.duplicate_of)
            ):
                refused.add(e.item_id)
        plan.settle(
            wave, refused, {i: store.items[i].checksum for i in refused if i in store.items}
        )
    return waves


names = st.sampled_from(["a", "b", "c", "d", "e", "f"])
projects = st.sampled_from(["p1", "p2"])
contents = st.sampled_from(["x", "y", "z"])
entries = st.builds(entry, names, projects, contents)


@given(
    call=st.lists(entries, max_size=12),
    before=st.lists(entries, max_size=6),
    race=st.lists(entries, max_size=6),
)
def test_every_registration_ends_created_existing_or_conflict_as_the_store_says(
    call: list[Entry], before: list[Entry], race: list[Entry]
) -> None:
    store = Store()
    for e in before:
        store.insert(e.item_id, Stored(e.checksum, e.content_key, store.owners.get(e.content_key)))
    existed = dict(store.items)
    plan = RegistrationPlan(call)
    waves = run(plan, store, race)

    assert len(waves) <= plan.max_waves
    first_mention: dict[str, int] = {}
    for index, e in enumerate(call):
        first_mention.setdefault(e.external_id, index)
        outcome = plan.outcome(index)
        assert outcome.item_id == e.item_id
        stored = store.items[e.item_id]  # every registration ends with its item stored
        if outcome.kind == "created":
            assert first_mention[e.external_id] == index  # a repeat never creates
            assert e.item_id not in existed
        else:
            expected = "existing" if stored.checksum == e.checksum else "conflict"
            assert outcome.kind == expected
        if outcome.kind == "created":
            assert stored.checksum == e.checksum


@given(
    call=st.lists(entries, max_size=12),
    before=st.lists(entries, max_size=6),
    race=st.lists(entries, max_size=6),
)
def test_each_content_has_one_owner_and_duplicates_name_it(
    call: list[Entry], before: list[Entry], race: list[Entry]
) -> None:
    store = Store()
    for e in before:
        store.insert(e.item_id, Stored(e.checksum, e.content_key, store.owners.get(e.content_key)))
    run(RegistrationPlan(call), store, race)
    for item_id, stored in store.items.items():
        if stored.duplicate_of is None:
            assert store.owners[stored.content_key] == item_id
        else:
            assert store.owners[stored.content_key] == stored.duplicate_of
            assert stored.duplicate_of != item_id


def test_a_new_content_is_owned_by_its_first_registration_and_duplicated_by_the_next() -> None:
    call = [entry("a", "p1", "x"), entry("b", "p1", "x"), entry("c", "p2", "x")]
    store = Store()
    plan = RegistrationPlan(call)
    waves = run(plan, store, [])
    # a and c (another project) own their contents in the first insert; b waits for a
    assert [[p.index for p in wave] for wave in waves] == [[0, 2], [1]]
    assert store.items[call[1].item_id].duplicate_of == call[0].item_id
    assert [plan.outcome(i).kind for i in range(3)] == ["created"] * 3


def test_a_resent_registration_is_existing_and_other_content_under_its_id_a_conflict() -> None:
    store = Store()
    first = entry("a", "p1", "x")
    store.insert(first.item_id, Stored("x", first.content_key, None))
    plan = RegistrationPlan([entry("a", "p1", "x"), entry("a", "p1", "y"), entry("b", "p1", "y")])
    run(plan, store, [])
    assert plan.outcome(0) == Outcome("existing", first.item_id)
    assert plan.outcome(1) == Outcome("conflict", first.item_id)  # a repeat, other content
    assert plan.outcome(2).kind == "created"


def test_the_first_wave_looks_nothing_up() -> None:
    plan = RegistrationPlan([entry("a", "p1", "x")])
    assert plan.unknown_owners() == set()


def test_a_content_the_plan_created_is_not_looked_up_again() -> None:
    call = [entry("a", "p1", "x"), entry("b", "p1", "x")]
    plan = RegistrationPlan(call)
    first = plan.wave()
    plan.settle(first, set(), {})
    assert plan.unknown_owners() == set()  # a owns x: the plan knows it without a round trip
    assert plan.wave() == [Placement(1, call[0].item_id)]


def test_a_settled_plan_gives_no_further_wave() -> None:
    plan = RegistrationPlan([entry("a", "p1", "x")])
    plan.settle(plan.wave(), set(), {})
    assert plan.done
    with pytest.raises(RuntimeError, match=r"^every registration of the plan is settled$"):
        plan.wave()


def test_claimants_registered_one_after_another_by_a_concurrent_call_each_take_a_wave() -> None:
    """Four registrations of one content; a concurrent call registers the first two external
    ids with other contents: each turns out a conflict in its own wave, the third owns the
    content and the fourth is its duplicate (found by the property test: three waves were
    not enough)."""
    call = [entry(name, "p1", "y") for name in "bdaf"]
    store = Store()
    plan = RegistrationPlan(call)
    waves = run(plan, store, race=[entry("b", "p1", "x"), entry("d", "p1", "z")])
    assert [plan.outcome(i).kind for i in range(4)] == [
        "conflict",
        "conflict",
        "created",
        "created",
    ]
    owner = call[2].item_id
    assert store.owners[call[2].content_key] == owner
    assert store.items[call[3].item_id].duplicate_of == owner
    assert len(waves) == 4 <= plan.max_waves


def test_a_plan_refuses_a_wave_beyond_its_limit() -> None:
    e = entry("a", "p1", "x")
    plan = RegistrationPlan([e])
    for _ in range(MAX_WAVES):  # content claimed by someone each time, owner never found
        plan.settle(plan.wave(), {e.item_id}, {})
    with pytest.raises(
        RuntimeError, match=r"^registrations kept colliding with concurrent ones; retry$"
    ):
        plan.wave()
