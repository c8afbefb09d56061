"""Signed media links (shared/media/presign.py): what is signed verifies, and nothing else."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.media.presign import (
    DEV_MEDIA_SECRET,
    MediaSigning,
    SignedLink,
    refusal,
    signature,
    signed_link,
)

ROOT = "/srv/media"
BASE = "http://127.0.0.1:8005"
SECRET = b"a test secret"
EXPIRED = "the link has expired: take the unit again for a fresh one"
MISMATCH = "the signature does not match"

segments = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
relative_paths = st.lists(segments, min_size=1, max_size=4).map("/".join)
times = st.integers(min_value=0, max_value=4_000_000_000)
ttls = st.integers(min_value=0, max_value=7 * 24 * 3600)


def _signing(ttl_s: int = 3600, *, pass_https: bool = True, base: str = BASE) -> MediaSigning:
    return MediaSigning(
        secret=SECRET, ttl_s=ttl_s, file_root=ROOT, file_base_url=base, pass_https=pass_https
    )


def _uri(relative: str, root: str = ROOT) -> str:
    return PurePosixPath(root, relative).as_uri()


def _as_served(link: SignedLink) -> tuple[str, str, str]:
    """The path, expires and signature a server reads from ``link`` (as the media server)."""
    parts = urllib.parse.urlsplit(link.url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return urllib.parse.unquote(parts.path).removeprefix("/"), query["expires"], query["signature"]


@given(relative_paths, times, ttls, st.data())
def test_a_link_verifies_for_its_path_until_it_expires(
    relative: str, now: int, ttl_s: int, data: st.DataObject
) -> None:
    link = signed_link(_uri(relative), signing=_signing(ttl_s), now=now)

    assert link is not None
    assert link.expires == now + ttl_s
    assert link.url.startswith(BASE + "/")
    path, expires, sig = _as_served(link)
    assert path == relative
    assert expires == str(now + ttl_s)
    assert sig == signature(relative, now + ttl_s, SECRET)
    while_valid = data.draw(st.floats(min_value=now, max_value=now + ttl_s), label="while valid")
    assert refusal(path, expires, sig, secret=SECRET, now=while_valid) is None
    later = data.draw(st.floats(min_value=now + ttl_s + 0.001, max_value=1e13), label="later")
    assert refusal(path, expires, sig, secret=SECRET, now=later) == EXPIRED


@given(relative_paths, relative_paths, times)
def test_a_link_never_verifies_for_another_path(mine: str, other: str, now: int) -> None:
    link = signed_link(_uri(mine), signing=_signing(), now=now)
    assert link is not None
    _, expires, sig = _as_served(link)

    if other != mine:
        assert refusal(other, expires, sig, secret=SECRET, now=now) == MISMATCH


@given(relative_paths, times, st.integers(min_value=1, max_value=10**9))
def test_a_link_never_verifies_for_a_later_expiry(relative: str, now: int, more: int) -> None:
    link = signed_link(_uri(relative), signing=_signing(), now=now)
    assert link is not None
    path, expires, sig = _as_served(link)

    later = str(int(expires) + more)
    assert refusal(path, later, sig, secret=SECRET, now=now) == MISMATCH


@given(relative_paths, times)
def test_a_link_never_verifies_under_another_secret(relative: str, now: int) -> None:
    link = signed_link(_uri(relative), signing=_signing(), now=now)
    assert link is not None
    path, expires, sig = _as_served(link)

    assert refusal(path, expires, sig, secret=b"another secret", now=now) == MISMATCH


@given(relative_paths, times)
def test_files_outside_the_root_have_no_link(relative: str, now: int) -> None:
    for uri in (
        _uri(relative, "/srv/other"),
        _uri(relative, "/srv/media-old"),  # a sibling that shares the root's name as a prefix
        _uri(f"elsewhere/{relative}", "/srv"),
    ):
        assert signed_link(uri, signing=_signing(), now=now) is None


@given(relative_paths, st.integers(min_value=0, max_value=3), times)
def test_a_path_through_dot_dot_has_no_link(relative: str, at: int, now: int) -> None:
    parts = relative.split("/")
    parts.insert(min(at, len(parts)), "..")
    escaping = f"file://{ROOT}/{urllib.parse.quote('/'.join(parts))}"
    encoded = f"file://{ROOT}/{'/'.join(urllib.parse.quote(p) for p in parts)}".replace(
        "..", "%2e%2e"
    )

    assert signed_link(escaping, signing=_signing(), now=now) is None
    assert signed_link(encoded, signing=_signing(), now=now) is None


@given(st.sampled_from(["s3", "gs", "http", "ftp", "data", "file+x", "az"]), relative_paths, times)
def test_other_schemes_have_no_link(scheme: str, relative: str, now: int) -> None:
    uri = f"{scheme}://bucket{ROOT}/{urllib.parse.quote(relative)}"

    assert signed_link(uri, signing=_signing(), now=now) is None


@given(relative_paths, times)
def test_a_file_on_another_host_or_the_root_itself_has_no_link(relative: str, now: int) -> None:
    assert signed_link(f"file://nas{ROOT}/{relative}", signing=_signing(), now=now) is None
    assert signed_link(f"file://{ROOT}", signing=_signing(), now=now) is None
    assert signed_link(f"file://{ROOT}/", signing=_signing(), now=now) is None


@given(relative_paths, times, ttls, st.booleans())
def test_https_media_pass_through_only_when_the_deployment_allows_it(
    relative: str, now: int, ttl_s: int, pass_https: bool
) -> None:
    uri = f"https://cdn.example.com/{urllib.parse.quote(relative)}?v=1"

    link = signed_link(uri, signing=_signing(ttl_s, pass_https=pass_https), now=now)

    assert link == (SignedLink(uri, now + ttl_s) if pass_https else None)


def test_file_media_have_no_link_without_a_configured_root_or_url() -> None:
    uri = _uri("a.jpg")
    no_root = MediaSigning(secret=SECRET, ttl_s=60, file_base_url=BASE)
    no_url = MediaSigning(secret=SECRET, ttl_s=60, file_root=ROOT)

    assert signed_link(uri, signing=no_root, now=0) is None
    assert signed_link(uri, signing=no_url, now=0) is None


def test_a_link_quotes_its_path_under_the_base_url() -> None:
    link = signed_link(
        "file:///srv/media/a%20dir/%C3%BC.jpg", signing=_signing(60, base=BASE + "/"), now=1000
    )

    sig = signature("a dir/ü.jpg", 1060, SECRET)
    assert link == SignedLink(f"{BASE}/a%20dir/%C3%BC.jpg?expires=1060&signature={sig}", 1060)


@pytest.mark.parametrize(
    ("expires", "sig", "reason"),
    [
        (None, "ab", "a signed link is needed: expires and signature"),
        ("100", None, "a signed link is needed: expires and signature"),
        ("", "", "a signed link is needed: expires and signature"),
        ("soon", "ab", "expires is not a time"),
        ("-100", "ab", "expires is not a time"),
        ("²", "ab", "expires is not a time"),
        ("\u0661\u0660\u0660", "ab", "expires is not a time"),
        ("0100", "ab", "expires is not a time"),
        ("1" * 13, "ab", "expires is not a time"),
        ("100", "é" * 64, MISMATCH),
        ("100", "AB", MISMATCH),
    ],
)
def test_a_malformed_link_is_refused_with_its_reason(
    expires: str | None, sig: str | None, reason: str
) -> None:
    assert refusal("a.jpg", expires, sig, secret=SECRET, now=50) == reason


def test_the_signature_is_the_hmac_of_the_path_and_expiry() -> None:
    expected = hmac.new(SECRET, b"a/b.jpg\n123", hashlib.sha256).hexdigest()

    assert signature("a/b.jpg", 123, SECRET) == expected
    assert DEV_MEDIA_SECRET  # the development default exists (and is refused in production)
