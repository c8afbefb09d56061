"""Judges' pseudonyms, free of I/O: what the per-judgment export shows instead of an expert's
id. Stable within a project (one expert is one judge across its items and exports), unrelated
across projects, and not computable without the project's key (``stores/secrets.py``), so a
client cannot link a pseudonym to an expert id it may know."""

from __future__ import annotations

import hashlib

from services.assignment.sampling import MAX_KEY_BYTES

PREFIX = "judge-"


def pseudonym(key: bytes, expert_id: str) -> str:
    """``judge-`` and 16 hex digits of the BLAKE2b MAC of the expert id under ``key``."""
    if len(key) > MAX_KEY_BYTES:
        raise ValueError(f"a pseudonym key has at most {MAX_KEY_BYTES} bytes, not {len(key)}")
    digest = hashlib.blake2b(f"judge\x1f{expert_id}".encode(), digest_size=8, key=key)
    return PREFIX + digest.hexdigest()
