"""The checked-in AsyncAPI document is exactly what the payload models generate."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.asyncapi import build_document, render
from shared.contracts.catalog import ALL_EVENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_checked_in_document_matches_the_models() -> None:
    assert DOC.read_text() == render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_event_of_the_design_table_is_documented() -> None:
    doc = yaml.safe_load(DOC.read_text())
    names = {m["name"] for m in doc["components"]["messages"].values()}
    expected = {
        "quorum.media.registration_requested.v1",
        "quorum.media.registered.v1",
        "quorum.media.rejected.v1",
        "quorum.project.changed.v1",
        "quorum.taxonomy.version_published.v1",
        "quorum.taxonomy.example_linked.v1",
        "quorum.work.created.v1",
        "quorum.work.leased.v1",
        "quorum.work.released.v1",
        "quorum.work.expired.v1",
        "quorum.judgment.submitted.v1",
        "quorum.gold.scored.v1",
        "quorum.item.resolved.v1",
        "quorum.metrics.updated.v1",
        "quorum.metrics.alert.v1",
    }
    assert expected <= names  # every contract of the design table, plus any added since
    assert {spec.type for spec in ALL_EVENTS} == names


def test_payload_schemas_are_resolvable() -> None:
    doc = build_document()
    schemas = doc["components"]["schemas"]
    for message in doc["components"]["messages"].values():
        ref = message["payload"]["properties"]["data"]["$ref"]
        assert ref.split("/")[-1] in schemas
