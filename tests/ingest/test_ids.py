"""Item ids are UUID version 5 of (tenant, external id): stable across releases, so a
re-sent registration finds its item by id."""

from __future__ import annotations

from services.ingest.planning import item_id_for


def test_item_ids_never_change() -> None:
    # stored items are found by this id: the derivation (namespace included) is pinned
    assert item_id_for("acme", "cam-1/0001") == "75fe887a-f671-507a-8029-c49638f7ac33"


def test_the_tenant_is_part_of_the_id() -> None:
    assert item_id_for("acme", "x") != item_id_for("globex", "x")
    assert item_id_for("ac", "mex") != item_id_for("acm", "ex")  # separated, not concatenated
