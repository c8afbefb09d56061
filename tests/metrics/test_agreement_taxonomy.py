"""Labels of different taxonomy versions are compared through the published mappings: once
version 2 merges ``dog`` and ``wolf`` into ``canine``, judgments of version 1 (``dog``,
``wolf``) and of version 2 (``canine``) agree on ``class``; a split class gives no value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.contracts.taxonomy import (
    VERSION_PUBLISHED,
    MappingEntry,
)
from shared.contracts.vocabulary import Label, TaxonomyRef
from shared.events.envelope import make_event
from tests.kafka_helpers import eventually
from tests.metrics.conftest import MetricsUnderTest
from tests.metrics.judgments import judgment, submitted
from tests.service_helpers import auth, publish
from tests.taxonomy_versions import version

pytestmark = pytest.mark.integration

PROJECT = "p-taxonomy"
OPS = auth("ops")


V1 = version(1, ["dog", "wolf", "bird"], [])
V2 = version(
    2,
    ["canine", "songbird", "raptor"],
    [
        MappingEntry(kind="merged", from_class_ids=["dog", "wolf"], to_class_ids=["canine"]),
        MappingEntry(kind="split", from_class_ids=["bird"], to_class_ids=["songbird", "raptor"]),
    ],
)


def labelled(n: int, item: int, expert: int, class_id: str, taxonomy_version: int) -> Any:
    return judgment(
        PROJECT,
        n,
        item,
        expert,
        labels=[Label(class_id=class_id)],
        taxonomy=TaxonomyRef(ontology_id="animals", version=taxonomy_version),
    )


async def class_field(client: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await client.get(
        f"/v1/projects/{PROJECT}/agreement", params={"field": "class"}, headers=OPS
    )
    if response.status_code != 200:
        return None
    found: dict[str, Any] | None = response.json()["fields"].get("class")
    return found


async def test_labels_of_two_versions_agree_through_the_published_mapping(
    metrics: MetricsUnderTest,
) -> None:
    settings = metrics.settings
    await publish(settings, make_event(VERSION_PUBLISHED, V1, source="/t", tenant="acme"))
    # item 0: dog (v1) and wolf (v1); item 1: wolf (v1) and canine (v2); item 2: bird (v1)
    # and songbird (v2)
    await publish(
        settings,
        *(
            submitted(j)
            for j in [
                labelled(1, 0, 0, "dog", 1),
                labelled(2, 0, 1, "wolf", 1),
                labelled(3, 1, 0, "wolf", 1),
                labelled(4, 1, 1, "canine", 2),
                labelled(5, 2, 0, "bird", 1),
                labelled(6, 2, 1, "songbird", 2),
            ]
        ),
    )

    async def before_v2() -> dict[str, Any] | None:
        found = await class_field(metrics.client)
        return found if found is not None and found["judgments"] == 6 else None

    # version 2 not known yet: classes as judged, no two judgments of an item agree
    found = await eventually(before_v2, timeout=60)
    assert found["percent_agreement"]["value"] == 0.0
    assert set(found["scale"]) == {"dog", "wolf", "canine", "bird", "songbird"}

    await publish(settings, make_event(VERSION_PUBLISHED, V2, source="/t", tenant="acme"))

    async def after_v2() -> dict[str, Any] | None:
        found = await class_field(metrics.client)
        return found if found is not None and "dog" not in found["scale"] else None

    found = await eventually(after_v2, timeout=60)
    # dog and wolf are canine now: items 0 and 1 agree; bird was split: it gives no value,
    # so item 2 keeps one judgment (songbird) and is not pairable
    assert found["scale"] == ["canine", "songbird"]
    assert found["judgments"] == 5
    assert found["percent_agreement"]["value"] == 1.0
    assert found["percent_agreement"]["n"] == 2
