"""Composite document ids: the parts (a tenant, then ids) joined with ``/``, each part's own
``%`` and ``/`` escaped first (``%25``, ``%2F``), so no two lists of parts make one id (a
project ``a/b`` with expert ``c`` and a project ``a`` with expert ``b/c`` are two documents)
and the ids stay readable: parts without ``/`` or ``%`` (every tenant and most ids) appear
as they are, so documents stored before the escaping keep their ids."""

from __future__ import annotations


def escape(part: str) -> str:
    """One part of a composite id, without a bare ``/``."""
    return part.replace("%", "%25").replace("/", "%2F")


def compound_id(*parts: str | int) -> str:
    """The document id of ``parts``: each escaped (:func:`escape`), joined with ``/``."""
    return "/".join(escape(str(part)) for part in parts)
