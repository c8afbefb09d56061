"""Draft edits of services/taxonomy/ontology.py, one rule at a time: what each edit refuses,
with which status and on which field, and what it leaves behind (the API tests reach the
same rules through HTTP; these pin their exact answers)."""

from __future__ import annotations

import pytest

from services.taxonomy import ontology
from services.taxonomy.ontology import Invalid, WorkingDraft
from shared.contracts.taxonomy import AttributeSpec, ClassSnapshot, MappingEntry
from shared.errors import FieldError


def cls(cid: str, name: str | None = None, parent: str | None = None) -> ClassSnapshot:
    return ClassSnapshot(id=cid, name=name or cid.title(), parent_id=parent)


def draft(
    *classes: ClassSnapshot, base: set[str] | None = None, published: frozenset[str] = frozenset()
) -> WorkingDraft:
    ids = {c.id for c in classes}
    return WorkingDraft(
        base_version=1,
        classes=list(classes),
        base_ids=frozenset(ids if base is None else base),
        published_ids=frozenset(ids | published),
    )


def refusal(excinfo: pytest.ExceptionInfo[Invalid]) -> tuple[int, list[tuple[str, str]]]:
    return excinfo.value.status, [(e.field, e.message) for e in excinfo.value.errors]


def test_an_invalid_edit_names_every_field_in_its_message() -> None:
    error = Invalid([FieldError(field="a", message="x"), FieldError(field="b", message="y")], 409)
    assert str(error) == "a: x; b: y"
    assert error.status == 409
    assert Invalid([]).status == 422


def test_a_class_added_with_an_id_in_the_draft_is_a_conflict_on_that_id() -> None:
    d = draft(cls("car"))
    with pytest.raises(Invalid) as caught:
        ontology.add_class(d, cls("car", "Auto"), id_given=True)
    assert refusal(caught) == (409, [("body.id", "class id 'car' is already in the draft")])
    assert [c.id for c in d.classes] == ["car"]


def test_an_id_of_a_class_removed_in_an_earlier_version_is_never_reused() -> None:
    d = draft(cls("car"), published={"truck"})
    with pytest.raises(Invalid) as caught:
        ontology.add_class(d, cls("truck"), id_given=True)
    status, errors = refusal(caught)
    assert status == 409
    assert errors == [
        (
            "body.id",
            "class id 'truck' belonged to a class removed in an earlier version; ids are "
            "never reused: choose another id",
        )
    ]


def test_a_class_removed_in_this_draft_may_come_back_with_its_id() -> None:
    d = draft(cls("car"), base={"car", "truck"}, published={"truck"})
    added = ontology.add_class(d, cls("truck"), id_given=True)
    assert added.id == "truck"
    assert [c.id for c in d.classes] == ["car", "truck"]


def test_a_class_added_without_an_id_gets_its_slug_avoiding_published_ids() -> None:
    d = draft(cls("car"), published={"traffic-light"})
    added = ontology.add_class(d, ClassSnapshot(id="ignored", name="Traffic Light"), id_given=False)
    assert added.id == "traffic-light-2"
    assert d.get("traffic-light-2") == added


def test_a_class_whose_name_is_taken_is_refused_on_the_body_and_not_added() -> None:
    d = draft(cls("car", "Car"))
    with pytest.raises(Invalid) as caught:
        ontology.add_class(d, cls("auto", "car"), id_given=True)
    assert refusal(caught) == (422, [("body", "name 'car' is already used by class 'car'")])
    assert d.ids() == {"car"}


def test_an_update_keeps_the_id_and_checks_the_whole_draft() -> None:
    d = draft(cls("car"), cls("truck"))
    updated = ontology.update_class(d, "car", {"name": "Auto", "id": "other"})
    assert (updated.id, updated.name) == ("car", "Auto")
    assert d.get("car") == updated
    with pytest.raises(Invalid) as caught:
        ontology.update_class(d, "car", {"parent_id": "car"})
    assert refusal(caught) == (422, [("body", "a class cannot be its own parent")])
    assert d.get("car") == updated


def test_an_update_or_removal_of_an_unknown_class_is_not_found_on_the_path() -> None:
    d = draft(cls("car"))
    for edit in (
        lambda: ontology.update_class(d, "bus", {}),
        lambda: ontology.remove_class(d, "bus"),
    ):
        with pytest.raises(Invalid) as caught:
            edit()
        assert refusal(caught) == (404, [("path.class_id", "no class 'bus' in the draft")])


def test_a_class_with_children_is_not_removed_and_its_children_are_named() -> None:
    d = draft(cls("vehicle"), cls("van", parent="vehicle"), cls("car", parent="vehicle"))
    with pytest.raises(Invalid) as caught:
        ontology.remove_class(d, "vehicle")
    assert refusal(caught) == (
        409,
        [("path.class_id", "class 'vehicle' has children car, van: move or remove them first")],
    )
    assert d.ids() == {"vehicle", "van", "car"}


def test_a_removed_class_leaves_the_merges_and_splits_of_the_draft() -> None:
    d = draft(cls("a"), cls("b"), cls("c"))
    d.lineage = [
        MappingEntry(kind="split", from_class_ids=["x"], to_class_ids=["a", "b"]),
        MappingEntry(kind="split", from_class_ids=["y"], to_class_ids=["c"]),
        MappingEntry(kind="merged", from_class_ids=["z", "w"], to_class_ids=["c"]),
        MappingEntry(kind="merged", from_class_ids=["v"], to_class_ids=["a"]),
    ]
    ontology.remove_class(d, "c")
    assert d.ids() == {"a", "b"}
    assert [(e.kind, e.from_class_ids, e.to_class_ids) for e in d.lineage] == [
        ("split", ["x"], ["a", "b"]),
        ("merged", ["v"], ["a"]),
    ]
    ontology.remove_class(d, "a")
    assert [(e.kind, e.from_class_ids, e.to_class_ids) for e in d.lineage] == [
        ("split", ["x"], ["b"]),
    ]


def test_a_class_merged_away_hands_its_earlier_merges_to_the_target() -> None:
    d = draft(cls("a"), cls("b"), cls("c"))
    ontology.merge(d, ["a"], into_id="b", into_new=None)
    ontology.merge(d, ["b"], into_id="c", into_new=None)
    assert [(e.from_class_ids, e.to_class_ids) for e in d.lineage] == [
        (["a"], ["c"]),
        (["b"], ["c"]),
    ]
    assert d.ids() == {"c"}


def test_a_merge_retargets_without_repeating_a_target() -> None:
    d = draft(cls("a"), cls("b"), cls("c"))
    d.lineage = [MappingEntry(kind="split", from_class_ids=["x"], to_class_ids=["a", "c"])]
    ontology.merge(d, ["a"], into_id="c", into_new=None)
    assert d.lineage[0].to_class_ids == ["c"]


def test_a_draft_reads_a_class_by_id() -> None:
    d = draft(cls("a"), cls("b"))
    assert d.get("b") == cls("b")
    assert d.get("z") is None


def test_duplicate_attributes_are_named_by_index() -> None:
    twice = ClassSnapshot(
        id="car",
        name="Car",
        attributes=[AttributeSpec(name="occluded", type="bool")] * 2,
    )
    assert ontology.check_classes([twice]) == [
        FieldError(field="classes.0.attributes.1.name", message="attribute 'occluded' twice")
    ]


def lineage(d: WorkingDraft) -> list[tuple[str, list[str], list[str], str | None]]:
    return [(e.kind, e.from_class_ids, e.to_class_ids, e.note) for e in d.lineage]


def test_a_merge_names_exactly_one_target() -> None:
    d = draft(cls("a"), cls("b"))
    for into in ({"into_id": None, "into_new": None}, {"into_id": "b", "into_new": cls("n")}):
        with pytest.raises(Invalid) as caught:
            ontology.merge(d, ["a"], **into)  # type: ignore[arg-type]
        assert refusal(caught) == (422, [("body", "give exactly one of into_class_id and into")])


def test_a_merge_names_every_unknown_and_repeated_source_at_once() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.merge(d, ["x", "a", "a", "y"], into_id="b", into_new=None)
    assert refusal(caught) == (
        422,
        [
            ("body.from_class_ids.0", "no class 'x' in the draft"),
            ("body.from_class_ids.3", "no class 'y' in the draft"),
            ("body.from_class_ids", "a class is named twice"),
        ],
    )
    assert d.ids() == {"a", "b"} and d.lineage == []


def test_a_merge_into_an_unknown_class_is_refused_on_its_field() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.merge(d, ["a"], into_id="z", into_new=None)
    assert refusal(caught) == (422, [("body.into_class_id", "no class 'z' in the draft")])


def test_a_merge_into_an_existing_class_keeps_it_moves_the_children_and_records_it() -> None:
    d = draft(cls("a"), cls("b"), cls("c"), cls("kid", parent="a"))
    target = ontology.merge(d, ["a", "b"], into_id="c", into_new=None, note="same thing")
    assert target == cls("c")
    assert d.ids() == {"c", "kid"}
    assert d.get("kid") == cls("kid", parent="c")
    assert lineage(d) == [("merged", ["a", "b"], ["c"], "same thing")]


def test_a_merge_into_a_new_class_may_take_a_sources_name() -> None:
    d = draft(cls("a", "Car"), cls("b", "Auto"))
    target = ontology.merge(d, ["a", "b"], into_id=None, into_new=cls("x", "Car"))
    assert (target.id, target.name) == ("car", "Car")
    assert d.ids() == {"car"}
    assert lineage(d) == [("merged", ["a", "b"], ["car"], None)]


def test_a_merge_into_a_new_class_with_an_id_checks_the_id_is_free() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.merge(d, ["a"], into_id=None, into_new=cls("b", "New"), id_given=True)
    assert refusal(caught) == (409, [("body.into.id", "class id 'b' is already in the draft")])
    target = ontology.merge(d, ["a"], into_id=None, into_new=cls("n", "New"), id_given=True)
    assert target.id == "n" and d.ids() == {"b", "n"}


def test_a_merge_target_cannot_be_a_child_of_a_merged_class() -> None:
    d = draft(cls("a"), cls("b", parent="a"))
    with pytest.raises(Invalid) as caught:
        ontology.merge(d, ["a"], into_id="b", into_new=None)
    assert refusal(caught) == (422, [("body", "the target cannot be a child of a merged class")])


def test_a_split_needs_a_known_source() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "z", into_ids=["a", "b"], into_new=[])
    assert refusal(caught) == (404, [("body.from_class_id", "no class 'z' in the draft")])


def test_a_split_needs_two_targets() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=["b"], into_new=[])
    assert refusal(caught) == (422, [("body.into", "a split needs at least two target classes")])


def test_a_class_that_received_a_merge_in_this_draft_is_not_split_in_it() -> None:
    d = draft(cls("a"), cls("b"), cls("c"), cls("d"))
    ontology.merge(d, ["a"], into_id="b", into_new=None)
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "b", into_ids=["c", "d"], into_new=[])
    assert refusal(caught) == (
        409,
        [
            (
                "body.from_class_id",
                "class 'b' received a merge or split in this draft; publish that first, then "
                "split it in the next version",
            )
        ],
    )


def test_a_class_with_children_is_not_split() -> None:
    d = draft(cls("a"), cls("b"), cls("c"), cls("kid", parent="a"), cls("kid2", parent="a"))
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=["b", "c"], into_new=[])
    assert refusal(caught) == (
        409,
        [("body.from_class_id", "class 'a' has children kid, kid2: move them first")],
    )


def test_a_split_names_every_bad_existing_target_at_once() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=["a", "b", "z"], into_new=[])
    assert refusal(caught) == (
        422,
        [
            ("body.into_class_ids.0", "the split class cannot be a target"),
            ("body.into_class_ids.2", "no class 'z' in the draft"),
        ],
    )
    assert d.ids() == {"a", "b"}


def test_new_split_targets_get_free_ids_and_given_ones_are_checked() -> None:
    d = draft(cls("a", "Bird"), cls("b", "Crow"), published={"sparrow"})
    made = ontology.split(
        d, "a", into_ids=["b"], into_new=[(cls("x", "Sparrow"), False), (cls("y", "Finch"), True)]
    )
    assert [(t.id, t.name) for t in made] == [("sparrow-2", "Sparrow"), ("y", "Finch")]
    assert d.ids() == {"b", "sparrow-2", "y"}
    assert lineage(d) == [("split", ["a"], ["b", "sparrow-2", "y"], None)]


def test_two_new_split_targets_cannot_share_a_given_id() -> None:
    d = draft(cls("a"), cls("b"))
    twins = [(cls("n", "One"), True), (cls("n", "Two"), True)]
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=[], into_new=twins)
    assert refusal(caught) == (409, [("body.into.1.id", "class id 'n' is taken")])
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=[], into_new=[(cls("b", "B2"), True), (cls("m"), True)])
    assert refusal(caught) == (409, [("body.into.0.id", "class id 'b' is already in the draft")])


def test_a_split_target_given_the_id_a_generated_one_took_is_refused() -> None:
    d = draft(cls("a"), cls("b"))
    with pytest.raises(Invalid) as caught:
        ontology.split(
            d, "a", into_ids=[], into_new=[(cls("x", "Crow"), False), (cls("crow", "C"), True)]
        )
    assert refusal(caught) == (409, [("body.into.1.id", "class id 'crow' is taken")])


def test_a_split_whose_targets_clash_by_name_changes_nothing() -> None:
    d = draft(cls("a"), cls("b", "Crow"))
    with pytest.raises(Invalid) as caught:
        ontology.split(d, "a", into_ids=["b"], into_new=[(cls("x", "crow"), False)])
    assert refusal(caught) == (422, [("body", "name 'crow' is already used by class 'b'")])
    assert d.ids() == {"a", "b"} and d.lineage == []


def test_a_diff_reports_each_kind_of_change_with_its_note() -> None:
    before = [
        cls("car", "Car"),
        cls("bus", "Bus"),
        cls("van", "Van"),
        cls("cat", "Cat"),
        cls("dog", "Dog"),
        cls("old", "Old"),
        cls("a", "A"),
        cls("b", "B"),
        cls("s", "S"),
    ]
    after = [
        cls("car", "Automobile"),
        cls("bus", "Bus", parent="car"),
        ClassSnapshot(id="van", name="Van", guideline="only vans"),
        ClassSnapshot(id="cat", name="Cat", status="deprecated"),
        ClassSnapshot(id="dog", name="Dog", synonyms=["hound"], description="a dog"),
        cls("new", "New"),
        cls("ab", "AB"),
        cls("s1", "S1"),
        cls("s2", "S2"),
    ]
    declared = [
        MappingEntry(kind="merged", from_class_ids=["a", "b"], to_class_ids=["ab"], note="m"),
        MappingEntry(kind="split", from_class_ids=["s"], to_class_ids=["s1", "s2", "gone"]),
        MappingEntry(kind="merged", from_class_ids=["never"], to_class_ids=["car"]),
    ]
    changes = [
        (e.kind, e.from_class_ids, e.to_class_ids, e.note)
        for e in ontology.diff(before, after, declared)
    ]
    assert changes == [
        ("merged", ["a", "b"], ["ab"], "m"),
        ("split", ["s"], ["s1", "s2"], None),
        ("added", [], ["new"], None),
        ("removed", ["old"], [], None),
        ("renamed", ["car"], ["car"], "'Car' -> 'Automobile'"),
        ("moved", ["bus"], ["bus"], "parent None -> car"),
        ("guideline_changed", ["van"], ["van"], None),
        ("deprecated", ["cat"], ["cat"], None),
        ("changed", ["dog"], ["dog"], "description, synonyms"),
    ]
    back = ontology.diff(after, [*after[:3], cls("cat", "Cat"), *after[4:]])
    assert [(e.kind, e.from_class_ids) for e in back] == [("reactivated", ["cat"])]


def test_the_content_hash_of_a_version_never_changes_across_releases() -> None:
    # published in version_published events and stored with each version: a change of the
    # canonical form (key order, separators, escaping, the prefix) would make every stored
    # hash disagree with the classes it was computed from
    classes = [ClassSnapshot(id="b", name="Bär", synonyms=["ours"]), cls("a", "Auto")]
    expected = "sha256:65ad8dbb2275a9cb9e76b8135b3b8a04ecea40b8e1a0e359ea432b34b732b0f2"
    assert ontology.content_hash(classes) == expected
    assert ontology.content_hash(list(reversed(classes))) == expected


def test_every_unknown_parent_is_named_after_classes_without_one() -> None:
    classes = [cls("a"), cls("b", parent="x"), cls("c"), cls("d", parent="y")]
    assert ontology.check_classes(classes) == [
        FieldError(field="classes.1.parent_id", message="unknown parent 'x'"),
        FieldError(field="classes.3.parent_id", message="unknown parent 'y'"),
    ]


def test_a_slug_is_lower_case_dashes_at_most_48_characters_or_class() -> None:
    assert ontology.slug("  Traffic Light!! ") == "traffic-light"
    assert ontology.slug("x" * 60) == "x" * 48
    assert ontology.slug("!!!") == "class"


def test_a_merge_whose_result_breaks_a_rule_is_refused_on_the_body() -> None:
    d = draft(cls("a"), cls("b"), cls("c", "Car"))
    with pytest.raises(Invalid) as caught:
        ontology.merge(d, ["a", "b"], into_id=None, into_new=cls("x", "car"))
    assert refusal(caught) == (422, [("body", "name 'car' is already used by class 'c'")])
    assert d.ids() == {"a", "b", "c"}


def test_a_new_merge_target_never_takes_the_id_of_a_class_removed_earlier() -> None:
    d = draft(cls("a"), cls("b"), published={"car"})
    target = ontology.merge(d, ["a", "b"], into_id=None, into_new=cls("x", "Car"))
    assert target.id == "car-2"


def test_a_split_records_its_note() -> None:
    d = draft(cls("a"), cls("b"), cls("c"))
    ontology.split(d, "a", into_ids=["b", "c"], into_new=[], note="by colour")
    assert lineage(d) == [("split", ["a"], ["b", "c"], "by colour")]


def test_a_merge_retargets_only_the_classes_merged_away() -> None:
    d = draft(cls("a"), cls("b"), cls("c"))
    d.lineage = [MappingEntry(kind="split", from_class_ids=["x"], to_class_ids=["a", "b"])]
    ontology.merge(d, ["a"], into_id="c", into_new=None)
    assert d.lineage[0].to_class_ids == ["c", "b"]


def test_a_diff_skips_declared_changes_it_cannot_place_and_keeps_reading() -> None:
    before = [cls("a"), cls("b"), cls("keep")]
    after = [cls("new"), cls("ab"), cls("keep", "Kept")]
    declared = [
        MappingEntry(kind="merged", from_class_ids=["zz"], to_class_ids=["ab"]),
        MappingEntry(kind="merged", from_class_ids=["a", "b", "zz"], to_class_ids=["ab"]),
    ]
    changes = [
        (e.kind, e.from_class_ids, e.to_class_ids) for e in ontology.diff(before, after, declared)
    ]
    assert changes == [
        ("merged", ["a", "b"], ["ab"]),
        ("added", [], ["new"]),
        ("renamed", ["keep"], ["keep"]),
    ]
