"""Composite document ids (``shared.mongo.compound_id``): no two lists of parts share an id, and ids of
parts without ``/`` or ``%`` read as before, joined by ``/``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.mongo import compound_id

#: ids as the contracts allow them: no whitespace or control character, ``/`` and ``%`` welcome
ids = st.text(st.sampled_from("ab/%2F5"), min_size=1, max_size=8)


@given(st.lists(ids, min_size=1, max_size=4), st.lists(ids, min_size=1, max_size=4))
def test_two_lists_of_parts_share_an_id_only_when_they_are_the_same(
    first: list[str], second: list[str]
) -> None:
    assert (compound_id(*first) == compound_id(*second)) == (first == second)


def test_ids_that_join_alike_with_a_bare_slash_are_told_apart() -> None:
    assert compound_id("acme", "p/a", "e") != compound_id("acme", "p", "a/e")
    assert compound_id("acme", "e", "x/s") == "acme/e/x%2Fs"
    assert compound_id("acme", "e/x", "s") == "acme/e%2Fx/s"
    assert compound_id("acme", "a%2Fb") != compound_id("acme", "a/b")


def test_parts_without_a_slash_or_a_percent_sign_read_as_before() -> None:
    assert compound_id("acme", "exp-1", 3) == "acme/exp-1/3"
