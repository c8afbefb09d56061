"""Candidate examples: items of judgments flagged edge case, rare class or ambiguous, and of
experts' feedback about the taxonomy (unclear guideline, missing class, contradictory
example), for ops to accept as example links (with the judgment or feedback as provenance)
or reject."""

from __future__ import annotations

from services.taxonomy.handlers.examples import Examples
from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.models import (
    AcceptIn,
    Candidate,
    CandidateStatus,
    Decision,
    ExampleIn,
)
from services.taxonomy.store import TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.taxonomy import Provenance
from shared.contracts.work import FeedbackAbout, FeedbackSubmittedV1, JudgmentSubmittedV1
from shared.errors import FieldError
from shared.events.envelope import Event
from shared.http.problems import Problem, not_found
from shared.logging import get_logger

log = get_logger(__name__)
#: Judgment flags that make the judged item a candidate example.
CANDIDATE_FLAGS = frozenset({"edge_case", "rare_class", "ambiguous"})


class Candidates:
    def __init__(
        self,
        store: TaxonomyStore,
        ontologies: Ontologies,
        examples: Examples,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.ontologies = ontologies
        self.examples = examples
        self.clock = clock

    async def list(
        self,
        principal: Principal,
        ontology_id: str,
        status: CandidateStatus | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[Candidate]:
        await self.ontologies.require(principal, ontology_id)
        return await self.store.candidates_of(
            principal.tenant, ontology_id, status, after=after, limit=limit
        )

    async def _pending(
        self, principal: Principal, ontology_id: str, candidate_id: str
    ) -> Candidate:
        await self.ontologies.require(principal, ontology_id)
        candidate = await self.store.candidate(principal.tenant, ontology_id, candidate_id)
        if candidate is None:
            raise not_found(f"candidate {candidate_id}")
        if candidate.status is not CandidateStatus.pending:
            raise Problem(
                409, "Conflict", f"candidate {candidate_id} was {candidate.status.value} already"
            )
        return candidate

    async def accept(
        self, principal: Principal, ontology_id: str, candidate_id: str, body: AcceptIn
    ) -> Candidate:
        candidate = await self._pending(principal, ontology_id, candidate_id)
        class_id = body.class_id
        if class_id is None:
            if len(set(candidate.class_ids)) != 1:
                raise Problem(
                    422,
                    "Unprocessable Content",
                    "the judgment labels several classes (or none): name the class",
                    errors=[FieldError(field="body.class_id", message="required here")],
                )
            class_id = candidate.class_ids[0]
        example = await self.examples.link(
            principal,
            ontology_id,
            candidate.version,
            class_id,
            ExampleIn(
                item_id=candidate.item_id,
                region=body.region,
                segment=body.segment,
                polarity=body.polarity,
                note=body.note or candidate.justification[:2000] or None,
            ),
            provenance=Provenance(
                source="judgment" if candidate.judgment_id else "feedback",
                judgment_id=candidate.judgment_id,
                actor=principal.subject,
            ),
            link_id=f"lnk_{candidate_id}",  # a retried accept makes the same link
        )
        return await self._decide(
            principal, candidate_id, CandidateStatus.accepted, body.note, example.link_id
        )

    async def reject(
        self, principal: Principal, ontology_id: str, candidate_id: str, note: str
    ) -> Candidate:
        await self._pending(principal, ontology_id, candidate_id)
        return await self._decide(principal, candidate_id, CandidateStatus.rejected, note, None)

    async def _decide(
        self,
        principal: Principal,
        candidate_id: str,
        status: CandidateStatus,
        note: str | None,
        link_id: str | None,
    ) -> Candidate:
        decision = Decision(status, principal.subject, self.clock(), note, link_id)
        decided = await self.store.decide_candidate(principal.tenant, candidate_id, decision)
        if decided is None:
            raise Problem(409, "Conflict", f"candidate {candidate_id} was decided meanwhile")
        return decided

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        """A judgment flagged as an edge case, rare class or ambiguous makes a candidate."""
        judgment = event.data
        flags = sorted(CANDIDATE_FLAGS.intersection(judgment.flags))
        if not flags:
            return
        if judgment.taxonomy is None:
            log.warning("flagged judgment has no taxonomy version; no candidate made")
            return
        candidate = Candidate(
            candidate_id=f"cand_{judgment.judgment_id}",
            ontology_id=judgment.taxonomy.ontology_id,
            version=judgment.taxonomy.version,
            item_id=judgment.item_id,
            judgment_id=judgment.judgment_id,
            expert_id=judgment.expert_id,
            class_ids=sorted({label.class_id for label in judgment.labels}),
            flags=sorted(set(judgment.flags)),
            justification=judgment.justification,
            status=CandidateStatus.pending,
            created_at=judgment.submitted_at,
        )
        await self.store.add_candidate(judgment.tenant, candidate)

    async def on_feedback_submitted(self, event: Event[FeedbackSubmittedV1]) -> None:
        """An expert's feedback about a unit's taxonomy version makes a candidate."""
        feedback = event.data
        if feedback.about is not FeedbackAbout.taxonomy:
            return
        if feedback.taxonomy is None:
            log.warning("taxonomy feedback has no taxonomy version; no candidate made")
            return
        proposed = (
            f" (proposed class: {feedback.proposed_class})" if feedback.proposed_class else ""
        )
        candidate = Candidate(
            candidate_id=f"cand_{feedback.feedback_id}",
            ontology_id=feedback.taxonomy.ontology_id,
            version=feedback.taxonomy.version,
            item_id=feedback.item_id,
            feedback_id=feedback.feedback_id,
            expert_id=feedback.expert_id,
            class_ids=sorted(set(feedback.class_ids)),
            flags=[feedback.kind.value],
            justification=feedback.text + proposed,
            status=CandidateStatus.pending,
            created_at=feedback.submitted_at,
        )
        await self.store.add_candidate(feedback.tenant, candidate)
