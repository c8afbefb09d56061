"""Judges' pseudonyms (``pseudonyms.pseudonym``), free of I/O: the value is pinned, so a change
of the MAC's input, size or prefix (which would rename every judge in exports already sent)
fails here, not only in the export's integration test."""

from __future__ import annotations

import hashlib

import pytest

from services.assignment.pseudonyms import pseudonym
from services.assignment.sampling import MAX_KEY_BYTES

KEY = b"k" * 32


def test_a_pseudonym_is_judge_and_16_hex_digits_of_the_keyed_mac_pinned() -> None:
    assert pseudonym(KEY, "expert-1") == "judge-13201fc445f3c99b"
    expected = hashlib.blake2b(b"judge\x1fexpert-1", digest_size=8, key=KEY).hexdigest()
    assert pseudonym(KEY, "expert-1") == "judge-" + expected


def test_the_pseudonym_depends_on_the_key_and_the_expert() -> None:
    assert pseudonym(KEY, "expert-1") != pseudonym(b"j" * 32, "expert-1")
    assert pseudonym(KEY, "expert-1") != pseudonym(KEY, "expert-2")
    assert pseudonym(KEY, "expert-1") == pseudonym(KEY, "expert-1")


def test_a_key_of_the_largest_size_is_accepted_and_one_byte_more_is_refused() -> None:
    assert pseudonym(b"k" * MAX_KEY_BYTES, "e") == "judge-09cd5c42b426f1fe"
    with pytest.raises(ValueError, match=r"^a pseudonym key has at most 64 bytes, not 65$"):
        pseudonym(b"k" * (MAX_KEY_BYTES + 1), "e")
