"""MongoDB through PyMongo's async API: client lifecycle, indexes, readiness, and composite
document ids.

Composite ids join their parts (a tenant, then ids) with ``/``, each part's own ``%`` and
``/`` escaped first (``%25``, ``%2F``), so no two lists of parts make one id (a project
``a/b`` with expert ``c`` and a project ``a`` with expert ``b/c`` are two documents) and the
ids stay readable: parts without ``/`` or ``%`` (every tenant and most ids) appear as they
are, so documents stored before the escaping keep their ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

DUPLICATE_KEY = 11000


def escape(part: str) -> str:
    """One part of a composite id, without a bare ``/``."""
    return part.replace("%", "%25").replace("/", "%2F")


def compound_id(*parts: str | int) -> str:
    """The document id of ``parts``: each escaped (:func:`escape`), joined with ``/``."""
    return "/".join(escape(str(part)) for part in parts)


@dataclass(frozen=True)
class CollectionIndexes:
    """The indexes a service needs on one collection, created at startup."""

    collection: str
    indexes: Sequence[IndexModel] = field(default_factory=tuple)


def connect(uri: str, *, app_name: str, timeout_ms: int = 5_000) -> AsyncMongoClient[Any]:
    return AsyncMongoClient(
        uri,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
        uuidRepresentation="standard",
    )


def keyset_after(
    position: Sequence[tuple[str, Any]], *, descending: bool = False
) -> dict[str, Any]:
    """The filter of the documents after ``position`` (``[(field, value), ...]``, the sort key
    of the last document of a page) in the order of those fields: keyset paging."""
    op = "$lt" if descending else "$gt"
    alternatives = []
    for index, (name, value) in enumerate(position):
        alternative = {earlier: equal for earlier, equal in position[:index]}
        alternative[name] = {op: value}
        alternatives.append(alternative)
    return {"$or": alternatives}


async def ensure_indexes(db: AsyncDatabase[Any], specs: Sequence[CollectionIndexes]) -> None:
    for spec in specs:
        if spec.indexes:
            await db[spec.collection].create_indexes(list(spec.indexes))


async def ping(client: AsyncMongoClient[Any]) -> None:
    """Raise unless the server answers."""
    await client.admin.command("ping")
