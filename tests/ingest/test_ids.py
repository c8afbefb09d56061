"""Item ids are UUID version 5 of (tenant, external id): stable across releases, so a
re-sent registration finds its item by ``_id``."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.planning import ITEM_NAMESPACE, item_id_for


@given(st.text(max_size=64), st.text(max_size=256))
def test_item_id_is_the_uuid5_of_tenant_and_external_id(tenant: str, external_id: str) -> None:
    expected = uuid.uuid5(ITEM_NAMESPACE, f"{tenant}\x1f{external_id}")
    assert item_id_for(tenant, external_id) == str(expected)


def test_item_ids_never_change() -> None:
    # stored items are found by this id: the derivation (namespace included) is pinned
    assert item_id_for("acme", "cam-1/0001") == "75fe887a-f671-507a-8029-c49638f7ac33"
