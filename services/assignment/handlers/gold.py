"""Gold items (ops): media with known answers registered on a project, each checked at once
(the content's shape, the key against the project's rubric version and taxonomy version, and
that the key scores something); listed, retired and put back."""

from __future__ import annotations

from services.assignment import gold, rubric
from services.assignment.handlers.forms import RubricForms, classes_of, placed_label_errors
from services.assignment.handlers.projects import project_of
from services.assignment.models.gold import GoldItem, GoldItemIn, KeyedContentIn
from services.assignment.stores.gold import GoldStore
from services.assignment.stores.projects import ProjectStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.rubric import RubricDefinition
from shared.contracts.vocabulary import TaxonomyRef
from shared.errors import FieldError
from shared.http.problems import Problem, not_found
from shared.media.shape import shape_errors
from shared.taxonomy.cache import TaxonomyCache


def refused(errors: list[FieldError], what: str) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        f"the {what} cannot be used: " + "; ".join(e.message for e in errors),
        errors=errors,
    )


def _unpublished(ref: TaxonomyRef) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"the key has labels, and taxonomy {ref.ontology_id} version {ref.version} "
        "is not published here (yet): register the item once it is",
    )


async def keyed_content_errors(
    body: KeyedContentIn,
    modality: str,
    form: RubricDefinition,
    taxonomy: TaxonomyCache,
    tenant: str,
    ref: TaxonomyRef | None,
) -> list[FieldError]:
    """Every problem of media with a key: its shape for ``modality``, the key against the
    rubric ``form`` and the classes of taxonomy version ``ref``, the key's labels on the
    media (once its shape is sound), and that the key scores a field."""
    errors = shape_errors(modality, body.media, body.parts, at="body.")
    sound = not errors
    # only labels need the taxonomy version's classes
    classes = await classes_of(taxonomy, tenant, ref, _unpublished) if body.key.labels else None
    key = [
        FieldError(field=e.field.replace("body.", "body.key.", 1), message=e.message)
        for e in rubric.answer_errors(form, body.key, classes=classes)
    ]
    errors += key
    if sound:
        errors += placed_label_errors(
            body.key.labels,
            modality=modality,
            media=body.media,
            parts=body.parts,
            classes=classes,
            at="body.key.labels",
            reported=key,
        )
    errors += [
        FieldError(field=f"body.{e.field}", message=e.message)
        for e in gold.key_errors(
            body.key, body.tolerances.settled(form).rules(), flags={f.name for f in form.flags}
        )
    ]
    return errors


class GoldItems:
    def __init__(
        self,
        store: GoldStore,
        projects: ProjectStore,
        forms: RubricForms,
        taxonomy: TaxonomyCache,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.forms = forms
        self.taxonomy = taxonomy
        self.clock = clock

    async def register(self, principal: Principal, project_id: str, body: GoldItemIn) -> GoldItem:
        tenant = principal.tenant
        project = await project_of(self.projects, tenant, project_id)
        form = await self.forms.get(tenant, project.rubric)
        errors = await keyed_content_errors(
            body, project.modality.value, form, self.taxonomy, tenant, project.taxonomy
        )
        if errors:
            raise refused(errors, "gold item")
        item = GoldItem(
            gold_id=body.gold_id,
            tenant=tenant,
            project_id=project_id,
            content=body.shown(project.taxonomy),
            key=body.key,
            tolerances=body.tolerances.settled(form),
            rubric=project.rubric,
            created_at=self.clock(),
            created_by=principal.subject,
        )
        if not await self.store.create(item):
            raise Problem(
                409, "Conflict", f"project {project_id} has a gold item {body.gold_id} already"
            )
        return item

    async def of_project(
        self,
        principal: Principal,
        project_id: str,
        active: bool | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[GoldItem]:
        await project_of(self.projects, principal.tenant, project_id)
        return await self.store.of_project(
            principal.tenant, project_id, active=active, after=after, limit=limit
        )

    async def set_active(
        self, principal: Principal, project_id: str, gold_id: str, active: bool
    ) -> GoldItem:
        """Retire a gold item (no longer served) or put it back."""
        if not await self.store.set_active(principal.tenant, project_id, gold_id, active):
            raise not_found(f"gold item {gold_id} of project {project_id}")
        found = await self.store.get(principal.tenant, project_id, gold_id)
        assert found is not None
        return found
