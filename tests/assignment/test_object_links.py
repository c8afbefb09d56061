"""Media in object stores reach the browser by presigned URLs: an ``s3://`` URI becomes a
SigV4 presigned GET that an S3-compatible server (moto's, over HTTP) serves, whole and by
range, for the link's life; schemes without a presigner get no link."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from services.assignment.media_links import media_links
from services.assignment.object_links import MAX_TTL_S, object_presigner
from shared.media.presign import MediaSigning, signed_link
from tests.processes import free_port

BODY = bytes(range(256)) * 64


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """An S3-compatible server on loopback with bucket ``media`` holding ``clips/a b.mp4``."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            env.setenv(name, value)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        client.create_bucket(Bucket="media")
        client.put_object(Bucket="media", Key="clips/a b.mp4", Body=BODY)
        try:
            yield url
        finally:
            server.stop()


def test_an_s3_uri_becomes_a_presigned_url_the_store_serves_whole_and_by_range(s3: str) -> None:
    presign = object_presigner(s3, "us-east-1")
    url = presign("s3://media/clips/a%20b.mp4", 900)
    assert url is not None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query
    assert "Authorization" not in url  # no bearer token: the signature is the permission
    assert httpx.get(url.split("?")[0]).status_code == 403  # the bare object URL is refused
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == BODY
    part = httpx.get(url, headers={"Range": "bytes=256-511"})
    assert part.status_code == 206 and part.content == BODY[256:512]


def test_a_presigned_url_lives_at_most_the_seven_days_sigv4_allows(s3: str) -> None:
    url = object_presigner(s3, "us-east-1")("s3://media/clips/a%20b.mp4", 30 * 24 * 3600)
    assert url is not None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Expires"] == [str(MAX_TTL_S)]


def test_a_uri_without_a_bucket_or_a_key_has_no_url(s3: str) -> None:
    presign = object_presigner(s3, "us-east-1")
    assert presign("s3://media", 900) is None
    assert presign("s3:///clips/a.mp4", 900) is None


def test_a_handout_links_s3_media_by_presigned_url_and_other_schemes_as_configured(s3: str) -> None:
    signing = MediaSigning(secret=b"s", ttl_s=600, presigners={"s3": object_presigner(s3)})
    content = {
        "parts": [
            {"name": "clip", "media": {"modality": "video", "uri": "s3://media/clips/a%20b.mp4"}},
            {"name": "still", "media": {"modality": "image", "uri": "gs://bucket/still.jpg"}},
        ]
    }
    clip, still = media_links(content, signing, now=1_800_000_000)
    assert clip.url is not None and httpx.get(clip.url).content == BODY
    assert clip.peaks_url is None  # peaks come from the media server, not from a store
    assert clip.expires_at is not None and clip.expires_at.timestamp() == 1_800_000_600
    # no presigner for gs:// here: no link, and the workbench says the media cannot be shown
    assert still.url is None
    assert signed_link("gs://bucket/still.jpg", signing=signing, now=0) is None
