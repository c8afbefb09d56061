"""Registration planning, free of I/O: item ids, content keys, and which registrations of one
call are inserted in which wave, with what outcome.

* An item's id derives from (tenant, external id): a re-sent registration finds its item by
  id, and two registrations of one external id can only ever make one item.
* The first item with some content in a project *owns* it: its content key is unique in the
  store. Later items with the same content are stored as duplicates of the owner.

The handler drives a :class:`RegistrationPlan` against the store::

    plan = RegistrationPlan(entries)
    while not plan.done:
        plan.learn_owners(await store.content_owners(plan.unknown_owners()))
        wave = plan.wave()
        refused = await store.insert(...)    # ids taken, or content claimed by another item
        plan.settle(wave, refused, await store.stored(...))
    plan.outcome(index)

No lookup comes before the first insert: most registrations are new, and the insert itself
finds the ids and contents taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.contracts.media import BundlePart, MediaFile

#: Item ids are version 5 UUIDs of (tenant, external id) in this namespace.
ITEM_NAMESPACE = uuid.UUID("6f0d5d1e-3a52-4d0c-9a57-6d1f0b7b7c11")
#: Waves of inserts a call of one registration may take: the first; one with the owners of
#: contents claimed meanwhile; one for contents whose claimant turned out to be registered
#: already. Each further registration of the call may add one wave: when several claimants of
#: one content turn out, one after the other, to be registered already by a concurrent call
#: (with other contents), each costs a wave (``RegistrationPlan.max_waves``).
MAX_WAVES = 3


def item_id_for(tenant: str, external_id: str) -> str:
    """The version 5 UUID of (tenant, external id), separated by the unit separator."""
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{tenant}\x1f{external_id}"))


def content_key(tenant: str, project_id: str, checksum: str) -> str:
    """What makes two items duplicates: the same content in the same project."""
    return f"{tenant}\x1f{project_id}\x1f{checksum}"


class HasContent(Protocol):
    @property
    def media(self) -> MediaFile | None: ...
    @property
    def parts(self) -> Sequence[BundlePart] | None: ...


def checksum(item: HasContent) -> str:
    """What identifies the content: the file's sha256, or the bundle's parts' in name order."""
    if item.media is not None:
        return item.media.sha256
    return ",".join(sorted(f"{p.name}={p.media.sha256}" for p in item.parts or ()))


@dataclass(frozen=True)
class Entry:
    """One valid registration of the call, as planning sees it."""

    external_id: str
    item_id: str
    content_key: str
    checksum: str


@dataclass(frozen=True)
class Placement:
    """A registration in a wave: it owns its content, or duplicates ``duplicate_of``."""

    index: int
    duplicate_of: str | None


@dataclass(frozen=True)
class Outcome:
    """``created`` by this call; ``existing`` (the same content registered before); or
    ``conflict`` (the external id is registered with other content). ``item_id``: the item."""

    kind: Literal["created", "existing", "conflict"]
    item_id: str


class RegistrationPlan:
    """The registrations of one call on their way into the store (see the module)."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        first: dict[str, int] = {}
        self._pending: list[int] = []
        #: a later mention of an external id -> the index of its first mention
        self._repeats: dict[int, int] = {}
        for index, entry in enumerate(self.entries):
            if entry.external_id in first:
                self._repeats[index] = first[entry.external_id]
            else:
                first[entry.external_id] = index
                self._pending.append(index)
        self._owners: dict[str, str] = {}  # content key -> the item id that owns it
        self._checksums: dict[str, str] = {}  # item id -> the checksum of the stored item
        self._outcomes: dict[int, Outcome] = {}
        self._waiting: list[int] = []
        self.waves = 0
        #: the waves this plan may take before it gives up (see MAX_WAVES)
        self.max_waves = MAX_WAVES - 1 + max(len(self._pending), 1)

    @property
    def done(self) -> bool:
        return not self._pending

    def unknown_owners(self) -> set[str]:
        """Content keys to look up before the next wave: none before the first."""
        if self.waves == 0:
            return set()
        keys = {self.entries[index].content_key for index in self._pending}
        return keys - self._owners.keys()

    def learn_owners(self, owners: Mapping[str, str]) -> None:
        """content key -> the stored item that owns it."""
        self._owners.update(owners)

    def wave(self) -> list[Placement]:
        """The next insert: each pending registration as a duplicate of its content's known
        owner, or as the owner itself (one claimant per content; the others wait)."""
        if self.done:
            raise RuntimeError("every registration of the plan is settled")
        if self.waves == self.max_waves:
            raise RuntimeError("registrations kept colliding with concurrent ones; retry")
        placements: list[Placement] = []
        claiming: set[str] = set()
        self._waiting = []
        for index in self._pending:
            key = self.entries[index].content_key
            owner = self._owners.get(key)
            if owner is not None:
                placements.append(Placement(index, owner))
            elif key in claiming:
                self._waiting.append(index)
            else:
                claiming.add(key)
                placements.append(Placement(index, None))
        return placements

    def settle(
        self,
        wave: Sequence[Placement],
        refused: Collection[str],
        stored: Mapping[str, str],
    ) -> None:
        """After the wave's insert: ``refused`` item ids, and the checksums of the stored
        items among them by id (the others were refused for their content's key)."""
        for placement in wave:
            entry = self.entries[placement.index]
            if entry.item_id not in refused:
                self._settle(placement.index, "created", entry.checksum)
                if placement.duplicate_of is None:
                    self._owners[entry.content_key] = entry.item_id
            elif (found := stored.get(entry.item_id)) is not None:
                kind: Literal["existing", "conflict"] = (
                    "existing" if found == entry.checksum else "conflict"
                )
                self._settle(placement.index, kind, found)
            else:  # another item claimed the content meanwhile: its owner is looked up
                self._waiting.append(placement.index)
        self._pending = sorted(self._waiting)
        self.waves += 1

    def _settle(
        self, index: int, kind: Literal["created", "existing", "conflict"], stored: str
    ) -> None:
        entry = self.entries[index]
        self._outcomes[index] = Outcome(kind, entry.item_id)
        self._checksums[entry.item_id] = stored

    def outcome(self, index: int) -> Outcome:
        """The outcome of the ``index``-th entry, once the plan is done. A later mention of
        an external id is ``existing`` with the same content, else ``conflict``."""
        first = self._repeats.get(index)
        if first is None:
            return self._outcomes[index]
        entry = self.entries[index]
        same = self._checksums[entry.item_id] == entry.checksum
        return Outcome("existing" if same else "conflict", entry.item_id)
