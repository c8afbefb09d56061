"""Agreement per project and field: judgments recorded per item as they are submitted,
figures computed on read (docs/metrics.md "State and scale").

A project's figures are built from its item documents on each read: an
:class:`~services.metrics.agreement.AgreementState` per field, so a read costs O(items of
the project x fields). The next step is a per-project aggregate (the state's ``to_dict``)
kept by increments, so that a read costs the figures only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.metrics.agreement import AgreementState, figures
from services.metrics.errors import NotFound
from services.metrics.fields import is_presence, own_fields, scale_of
from services.metrics.stores.ratings import LATEST, NO_RUBRIC, Rating, RatingStore
from shared.contracts.work import JudgmentSubmittedV1, WorkKind
from shared.events.envelope import Event

#: item -> expert -> their latest rating
Table = dict[str, dict[str, Rating]]


@dataclass(frozen=True)
class ProjectStates:
    """The agreement state of each field of a project (a selection of its judgments)."""

    states: dict[str, AgreementState]

    def figures(self) -> dict[str, dict[str, Any]]:
        """Every figure of each field, without the per-pair matrix (it names experts)."""
        out = {}
        for name, state in sorted(self.states.items()):
            found = figures(state)
            del found["cohen_kappa"]
            out[name] = found
        return out

    def pairs(self) -> dict[str, list[dict[str, Any]]]:
        """The Cohen kappa matrix of each field: one entry per expert pair."""
        return {
            name: figures(state)["cohen_kappa"]["pairs"]
            for name, state in sorted(self.states.items())
        }


def _later(table: Table, item: str, rating: Rating) -> None:
    ratings = table.setdefault(item, {})
    held = ratings.get(rating.expert_id)
    if held is None or held.order < rating.order:
        ratings[rating.expert_id] = rating


class Agreement:
    def __init__(
        self, ratings: RatingStore, applied: Callable[[str, str], None] | None = None
    ) -> None:
        self.ratings = ratings
        #: told (tenant, project) after a judgment's writes changed the project's documents
        self.applied = applied

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        """Record the judgment's value of each of its fields on its item, once per judgment
        (a replay under any event id changes nothing). Adjudication judgments are left out:
        an adjudicator decides between the others rather than judging independently."""
        j = event.data
        if j.kind is WorkKind.adjudication:
            return
        version = j.rubric_ref.version if j.rubric_ref is not None else NO_RUBRIC
        changed = False
        for field, value in {**own_fields(j), LATEST: None}.items():
            changed |= await self.ratings.record(
                j.tenant,
                j.project_id,
                field,
                version,
                j.item_id,
                Rating(j.expert_id, value, j.judgment_id, j.submitted_at),
            )
        if changed and self.applied is not None:
            # after the writes: a live subscriber's next read includes the judgment
            self.applied(j.tenant, j.project_id)

    async def require_project(self, tenant: str, project_id: str) -> None:
        """NotFound when the project has no judgment in the tenant."""
        if not await self.ratings.has_project(tenant, project_id):
            raise NotFound(f"project {project_id}")

    async def project(
        self, tenant: str, project_id: str, *, field: str | None, rubric_version: int | None
    ) -> ProjectStates:
        """The states of the project's fields (``field`` only, when given) over its
        judgments (of ``rubric_version``, when given). NotFound when the project has no
        judgment in the tenant."""
        wanted = None if field is None else [field, LATEST] if is_presence(field) else [field]
        latest: Table = {}
        tables: dict[str, Table] = {}
        async for doc in self.ratings.of_project(
            tenant, project_id, fields=wanted, rubric_version=rubric_version
        ):
            table = latest if doc.field == LATEST else tables.setdefault(doc.field, {})
            for rating in doc.values:
                _later(table, doc.item_id, rating)
        if not tables and not await self.ratings.has_project(tenant, project_id):
            raise NotFound(f"project {project_id}")
        states = {}
        for name, table in tables.items():
            if is_presence(name):
                # over every judged item: true where the expert's latest judgment raised it
                judgments = [
                    (
                        item,
                        expert,
                        (raised := table.get(item, {}).get(expert)) is not None
                        and raised.judgment_id == last.judgment_id,
                    )
                    for item, experts in latest.items()
                    for expert, last in experts.items()
                ]
            else:
                judgments = [
                    (item, expert, rating.value)
                    for item, experts in table.items()
                    for expert, rating in experts.items()
                ]
            states[name] = AgreementState.from_judgments(scale_of(name), judgments)
        return ProjectStates(states)
