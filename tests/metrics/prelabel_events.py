"""``media.registered`` (with pre-labels) and ``item.resolved`` events as ingest and
assignment publish them, for the metrics service's tests: a project whose model pre-labels
four classes and gets one of them (``fish``) wrong far more often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1, PreLabels
from shared.contracts.vocabulary import Label, Modality
from shared.contracts.work import ITEM_RESOLVED, ItemResolvedV1, Resolution, Verdict
from shared.events.envelope import Event, make_event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLASSES = ("bird", "cat", "dog", "fish")
#: items pre-labelled with each class (``ITEMS_PER_CLASS``) the outcome differs on
ERRORS = {"bird": 3, "cat": 4, "dog": 3, "fish": 20}
ITEMS_PER_CLASS = 50


def item_id(project_id: str, n: int) -> str:
    return f"{project_id}-item-{n}"


def registered(
    project_id: str,
    n: int,
    classes: list[tuple[str, float | None]],
    *,
    tenant: str = "acme",
    model: str = "detector",
    version: str = "v1",
) -> Event[MediaRegisteredV1]:
    data = MediaRegisteredV1(
        item_id=item_id(project_id, n),
        tenant=tenant,
        external_id=f"ext-{n}",
        project_id=project_id,
        modality=Modality.image,
        prelabels=PreLabels(
            model_name=model,
            model_version=version,
            labels=[Label(class_id=c, confidence=v) for c, v in classes],
        ),
        registered_at=T0 + timedelta(seconds=n),
    )
    return make_event(MEDIA_REGISTERED, data, source="/quorum/ingest", tenant=tenant)


def resolved(
    project_id: str,
    n: int,
    classes: list[str],
    *,
    tenant: str = "acme",
    revision: int = 1,
    verdict: Verdict = Verdict.accept,
) -> Event[ItemResolvedV1]:
    data = ItemResolvedV1(
        item_id=item_id(project_id, n),
        project_id=project_id,
        tenant=tenant,
        final_labels=[Label(class_id=c) for c in classes],
        method=Resolution.consensus if revision == 1 else Resolution.override,
        judgment_ids=[f"{project_id}-j{n}"],
        resolved_at=T0 + timedelta(hours=1, seconds=n + 1000 * (revision - 1)),
        verdict=verdict,
        revision=revision,
    )
    return make_event(ITEM_RESOLVED, data, source="/quorum/assignment", tenant=tenant)


def seeded(
    project_id: str, *, tenant: str = "acme", per_class: int = ITEMS_PER_CLASS
) -> tuple[list[Event[MediaRegisteredV1]], list[Event[ItemResolvedV1]], set[str]]:
    """``per_class`` items pre-labelled with each class (one pre-label, confidence 0.9 when
    the outcome agrees, 0.55 otherwise), resolved to the next class for the first
    ``ERRORS[class]`` of them (scaled to ``per_class``); and the ids of the wrong ones."""
    registrations, resolutions, wrong = [], [], set()
    for k in range(per_class):
        for c, cls in enumerate(CLASSES):
            n = k * len(CLASSES) + c
            is_wrong = k < ERRORS[cls] * per_class // ITEMS_PER_CLASS
            outcome = CLASSES[(c + 1) % len(CLASSES)] if is_wrong else cls
            registrations.append(
                registered(project_id, n, [(cls, 0.55 if is_wrong else 0.9)], tenant=tenant)
            )
            resolutions.append(resolved(project_id, n, [outcome], tenant=tenant))
            if is_wrong:
                wrong.add(item_id(project_id, n))
    return registrations, resolutions, wrong
