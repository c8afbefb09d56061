"""Unit ids and lease ids, free of I/O (``services/assignment/leasing.py``): what is made is
read back, and an id that is not of the form is told apart rather than failing (it comes
from a path or a body: no request can break the service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.leasing import (
    DEFAULT_TTL_S,
    deadline,
    item_of,
    lease_id,
    slot_of,
    unit_id,
    unit_number,
)
from services.assignment.models.projects import ProjectSettings


@given(item=st.text(min_size=1, max_size=40), n=st.integers(0, 1_000))
def test_a_unit_id_names_its_item_and_its_number(item: str, n: int) -> None:
    made = unit_id(item, n)
    assert (item_of(made), unit_number(made)) == (item, n)


@pytest.mark.parametrize("text", ["no-unit-number", "item~", "item~x", "item~²", "item~-1", "7"])
def test_an_id_that_names_no_unit_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a unit id"):
        unit_number(text)


@given(slot=st.integers(0, 99))
def test_a_lease_id_names_its_slot(slot: int) -> None:
    assert slot_of(lease_id(slot)) == slot


@pytest.mark.parametrize("text", ["²-abc", "1", "1-", "100-abc", "x-1", "-abc", ""])
def test_a_lease_id_not_ours_names_no_slot(text: str) -> None:
    assert slot_of(text) is None


def test_a_project_without_a_ttl_gets_the_default_and_its_first_deadline_is_a_ttl_away() -> None:
    assert ProjectSettings.model_fields["lease_ttl_s"].default == DEFAULT_TTL_S
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert deadline(now, DEFAULT_TTL_S) == now + timedelta(seconds=DEFAULT_TTL_S)
