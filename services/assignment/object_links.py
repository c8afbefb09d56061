"""Presigned GET URLs for media in object stores, as a handout's media links: ``s3://`` with
boto3 (SigV4, the credentials and region boto3 finds: environment, instance or pod role), and
``gs://`` through Cloud Storage's S3-compatible XML API with HMAC keys given as those
credentials (docs/console.md "Media"). Signing is a local computation: no call leaves."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import boto3
from botocore.config import Config

#: the longest a SigV4 presigned URL may live
MAX_TTL_S = 7 * 24 * 3600
#: Cloud Storage's S3-compatible endpoint
GCS_XML_API = "https://storage.googleapis.com"

Presigner = Callable[[str, int], str | None]


def object_presigner(endpoint_url: str | None = None, region: str | None = None) -> Presigner:
    """A function giving the presigned URL of an ``<scheme>://bucket/key`` URI for a TTL (None
    for a URI without a bucket or key)."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )

    def presign(uri: str, ttl_s: int) -> str | None:
        parsed = urllib.parse.urlsplit(uri)
        bucket, key = parsed.netloc, urllib.parse.unquote(parsed.path.lstrip("/"))
        if not bucket or not key:
            return None
        url: str = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=max(1, min(ttl_s, MAX_TTL_S)),
        )
        return url

    return presign
