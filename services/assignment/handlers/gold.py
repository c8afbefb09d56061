"""Gold items (ops): media with known answers registered on a project, each checked at once
(the content's shape, the key against the project's rubric version and taxonomy version, and
that the key scores 1 against itself); listed, retired and put back. When the project moves to
other versions, each is checked again against them: served only under versions its key is
valid for (``GoldItem.valid_for``); else flagged ``stale`` to ops, with every failing field."""

from __future__ import annotations

from services.assignment import gold, rubric
from services.assignment.errors import (
    GoldIdTaken,
    KeyedContentInvalid,
    KeyTaxonomyUnpublished,
    NotFound,
    TaxonomyNotKnownYet,
)
from services.assignment.handlers.forms import RubricForms, classes_of, placed_label_errors
from services.assignment.handlers.projects import project_of
from services.assignment.models.gold import (
    GoldItem,
    GoldItemIn,
    GoldStale,
    GoldVersions,
    KeyedContentIn,
)
from services.assignment.models.projects import Project
from services.assignment.stores.gold import GoldStore
from services.assignment.stores.projects import ProjectStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.rubric import RubricDefinition
from shared.contracts.taxonomy import VersionPublishedV1
from shared.contracts.vocabulary import TaxonomyRef
from shared.contracts.work import ProjectChangedV1
from shared.errors import FieldError
from shared.events.envelope import Event
from shared.logging import get_logger
from shared.media.shape import shape_errors
from shared.taxonomy.cache import TaxonomyCache


async def keyed_content_errors(
    body: KeyedContentIn,
    modality: str,
    form: RubricDefinition,
    taxonomy: TaxonomyCache,
    tenant: str,
    ref: TaxonomyRef | None,
) -> list[FieldError]:
    """Every problem of media with a key: its shape for ``modality``, the key against the
    rubric ``form`` and the classes of taxonomy version ``ref`` (and the pre-labels' classes),
    the key's labels on the media (once its shape is sound), and that the key scores a
    field, and scores 1 against itself. :class:`KeyTaxonomyUnpublished` when it has labels
    and version ``ref`` is not known here (yet)."""
    errors = shape_errors(modality, body.media, body.parts, at="body.")
    sound = not errors
    prelabels = body.prelabels.labels if body.prelabels is not None else []
    # only labels need the taxonomy version's classes
    try:
        classes = await classes_of(taxonomy, tenant, ref) if body.key.labels or prelabels else None
    except TaxonomyNotKnownYet as unknown:
        raise KeyTaxonomyUnpublished(unknown.ref) from None
    if classes is not None:
        # shown with the item, the pre-labels are of the version too (as ingest checks them)
        errors += [
            FieldError(
                field=f"body.prelabels.labels.{i}.class_id",
                message=f"class {label.class_id!r} is not in the taxonomy version",
            )
            for i, label in enumerate(prelabels)
            if label.class_id not in classes
        ]
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


log = get_logger(__name__)


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
            raise KeyedContentInvalid(errors, what="gold item")
        item = GoldItem(
            gold_id=body.gold_id,
            tenant=tenant,
            project_id=project_id,
            content=body.shown(project.taxonomy),
            key=body.key,
            tolerances=body.tolerances.settled(form),
            rubric=project.rubric,
            taxonomy=project.taxonomy,
            valid_for=[GoldVersions(rubric=project.rubric, taxonomy=project.taxonomy)],
            created_at=self.clock(),
            created_by=principal.subject,
        )
        if not await self.store.create(item):
            raise GoldIdTaken(project_id, body.gold_id)
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
        """Retire a gold item (no longer served) or put it back (checked against the
        versions the project uses now)."""
        if not await self.store.set_active(principal.tenant, project_id, gold_id, active):
            raise NotFound(f"gold item {gold_id} of project {project_id}")
        found = await self.store.get(principal.tenant, project_id, gold_id)
        assert found is not None
        project = await self.projects.get(principal.tenant, project_id)
        if active and project is not None:
            found = await self._recheck(project, found)
        return found

    async def on_project_changed(self, event: Event[ProjectChangedV1]) -> None:
        """A project changed (assignment's own event, consumed again): its gold items are
        checked against the versions it uses now, as stored (a late event checks the
        latest). Idempotent: an item checked against them already is left as it is."""
        project = await self.projects.get(event.data.tenant, event.data.project_id)
        if project is not None:
            await self.recheck(project)

    async def on_version_published(self, event: Event[VersionPublishedV1]) -> None:
        """A taxonomy version reached assignment: gold items found stale under it (perhaps
        because it was not known here yet) are checked again."""
        version = event.data
        ref = TaxonomyRef(ontology_id=version.ontology_id, version=version.version)
        for project_id in await self.store.stale_under(version.tenant, ref):
            project = await self.projects.get(version.tenant, project_id)
            if project is not None:
                await self.recheck(project)

    async def recheck(self, project: Project) -> None:
        """Check each gold item of the project against the versions it uses now."""
        found = await self.store.of_project(project.tenant, project.project_id, active=None)
        for item in found:
            await self._recheck(project, item)

    async def _recheck(self, project: Project, item: GoldItem) -> GoldItem:
        """The gold item after checking its key against the project's rubric and taxonomy
        versions (once per versions): valid, it is served on units of them too; else it is
        stale (not served on them) and ops see every failing field."""
        tenant, rubric, ref = project.tenant, project.rubric, project.taxonomy
        if item.serves(rubric, ref):
            if item.stale is not None:  # the project came back to versions it holds under
                await self.store.revalidated(
                    tenant, project.project_id, item.gold_id, item.valid_for
                )
                return item.model_copy(update={"stale": None})
            return item
        stale = item.stale
        if stale is not None and (stale.rubric, stale.taxonomy) == (rubric, ref) and stale.errors:
            return item  # found stale under them already
        keyed = _keyed(item)
        labelled = bool(keyed.key.labels or (keyed.prelabels and keyed.prelabels.labels))
        now = self.clock()
        if (
            labelled
            and ref is not None
            and await self.taxonomy.fetch(tenant, ref.ontology_id, ref.version) is None
        ):
            flagged = GoldStale(
                rubric=rubric,
                taxonomy=ref,
                reason=f"taxonomy {ref.ontology_id} version {ref.version} is not known here "
                "yet: the item is checked against it once it is, and not served meanwhile",
                checked_at=now,
            )
        else:
            form = await self.forms.get(tenant, rubric)
            errors = await keyed_content_errors(
                keyed, project.modality.value, form, self.taxonomy, tenant, ref
            )
            if not errors:
                valid_for = [*item.valid_for, GoldVersions(rubric=rubric, taxonomy=ref)]
                await self.store.revalidated(tenant, project.project_id, item.gold_id, valid_for)
                log.info("gold item valid for the project's versions", gold_id=item.gold_id)
                return item.model_copy(update={"valid_for": valid_for, "stale": None})
            versions = f"rubric {rubric.rubric_id} version {rubric.version}"
            if ref is not None:
                versions += f" and taxonomy {ref.ontology_id} version {ref.version}"
            flagged = GoldStale(
                rubric=rubric,
                taxonomy=ref,
                reason=f"the key does not hold under {versions} (the project's now), so it "
                "is not served on units of them: " + "; ".join(e.message for e in errors)[:2_000],
                errors=[
                    FieldError(field=e.field.removeprefix("body."), message=e.message)
                    for e in errors
                ],
                checked_at=now,
            )
        await self.store.flag_stale(tenant, project.project_id, item.gold_id, flagged)
        log.warning("gold item stale: not served", gold_id=item.gold_id, reason=flagged.reason)
        return item.model_copy(update={"stale": flagged})


def _keyed(item: GoldItem) -> KeyedContentIn:
    """A stored gold item as it would be registered (its content, key and tolerances)."""
    content = item.content
    return KeyedContentIn.model_validate(
        {
            "media": content.get("media"),
            "parts": content.get("parts"),
            "capture": content.get("capture"),
            "prelabels": content.get("prelabels"),
            "key": item.key,
            "tolerances": item.tolerances,
        }
    )
