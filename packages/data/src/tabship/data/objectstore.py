"""An S3 bucket and prefix (`s3://bucket/prefix`), reached with boto3 as any S3 client is.

boto3 reads the endpoint, region and keys from the environment, as the AWS tools do:
`AWS_ENDPOINT_URL_S3` (a non-AWS store such as the team stack's SeaweedFS), `AWS_DEFAULT_REGION`,
`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or a profile. Every failure is one StoreError line
naming the store and the object, never a key or a secret.

Conditional writes (`If-None-Match: *`, `If-Match: ETAG`) are what AWS S3 and SeaweedFS offer for a
compare-and-set: `put(..., only_if_absent=True)` and `put(..., only_if=etag)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from tabship.data.errors import ConfigError

S3_SCHEME = "s3://"
# Answers that mean "the keys are wrong", as AWS and SeaweedFS word them.
REFUSED_KEYS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}


class StoreError(OSError):
    """The object store cannot be reached, refused the keys, or holds no such object."""


class PreconditionFailedError(StoreError):
    """A conditional write lost: the object exists, or changed since it was read."""


@dataclass(frozen=True)
class Stored:
    """An object's bytes and its ETag (what `put(..., only_if=...)` compares against)."""

    body: bytes
    etag: str


def _region() -> str | None:
    """boto3's region, except that a region variable set but empty (a CI system's unset secret)
    means S3's default, us-east-1, where boto3 would build the address `s3..amazonaws.com`."""
    named = ("AWS_DEFAULT_REGION", "AWS_REGION")
    chosen = next((os.environ[n] for n in named if os.environ.get(n)), None)
    if chosen is None and any(n in os.environ for n in named):
        chosen = "us-east-1"
    return chosen  # None: boto3 finds it (a profile, the instance)


def is_object_url(value: str) -> bool:
    return value.startswith(S3_SCHEME)


class ObjectStore:
    """One prefix of one bucket. Keys given to the methods are relative to the prefix."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"{url}: an object store is s3://BUCKET[/PREFIX]")
        self.url = url.rstrip("/")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ConfigError(f"{url}: the S3 store needs boto3 (pip install boto3)") from None
        # Few, short retries: a store that is down is said in seconds, not after minutes.
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
            s3={"addressing_style": "path"},
        )  # fmt: skip
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        self.client: Any = boto3.client("s3", config=config, region_name=_region())

    def where(self, key: str = "") -> str:
        """The object's address, fit to print (the endpoint, never a key)."""
        at = f" at {self.endpoint}" if self.endpoint else ""
        return f"{self.url}/{key}{at}" if key else f"{self.url}{at}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, error: Exception, key: str) -> StoreError:
        """One line for a boto3 failure: which store, which object, and what went wrong."""
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(error, NoCredentialsError):
            return StoreError(f"{self.where(key)}: no S3 credentials (set AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY, or a profile)")  # fmt: skip
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                return PreconditionFailedError(f"{self.where(key)}: changed by another writer")
            if code in REFUSED_KEYS:
                return StoreError(f"{self.where(key)}: the store refused the credentials "
                                  f"(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): {code}")  # fmt: skip
            if code == "NoSuchBucket":
                return StoreError(f"{self.where()}: no bucket {self.bucket!r}")
            return StoreError(f"{self.where(key)}: {code or type(error).__name__}")
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        return StoreError(
            f"{self.where(key)}: the store cannot be reached ({first or type(error).__name__})"
        )

    def get(self, key: str) -> Stored | None:
        """The object's bytes and ETag, or None when there is no such object."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return Stored(answer["Body"].read(), str(answer["ETag"]))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise self._fail(error, key) from None
        except Exception as error:  # connection refused, timeouts, bad endpoint
            raise self._fail(error, key) from None

    def put(
        self, key: str, body: bytes, *, only_if_absent: bool = False, only_if: str | None = None
    ) -> str:
        """Write the object whole (S3 never shows half a PUT); returns its new ETag. With
        ONLY_IF_ABSENT or ONLY_IF (an ETag) the store refuses with PreconditionFailedError when the
        condition does not hold, in one atomic step on its side."""
        extra: dict[str, str] = {}
        if only_if_absent:
            extra["IfNoneMatch"] = "*"
        if only_if is not None:
            extra["IfMatch"] = only_if
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=body, **extra
            )
        except Exception as error:
            raise self._fail(error, key) from None
        return str(answer["ETag"])

    def upload(self, key: str, path: os.PathLike[str] | str) -> None:
        """A local file to KEY (multipart when large: the object appears only when complete)."""
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key))
        except Exception as error:
            raise self._fail(error, key) from None

    def download(self, key: str, path: os.PathLike[str] | str) -> None:
        """KEY into a local file."""
        try:
            self.client.download_file(self.bucket, self._key(key), str(path))
        except Exception as error:
            raise self._fail(error, key) from None

    def delete(self, key: str, *, only_if: str | None = None) -> None:
        """Remove the object (with ONLY_IF: only while its ETag is that one)."""
        extra = {"IfMatch": only_if} if only_if is not None else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except Exception as error:
            raise self._fail(error, key) from None

    def keys(self, under: str) -> list[str]:
        """Every key below UNDER (relative to the prefix), sorted."""
        found: list[str] = []
        start = self._key(under.rstrip("/") + "/")
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                found += [str(o["Key"]) for o in page.get("Contents", [])]
        except Exception as error:
            raise self._fail(error, under) from None
        cut = len(self._key(""))
        return sorted(k[cut:].lstrip("/") if self.prefix else k for k in found)

    def server_time(self, key: str) -> float:
        """The store's clock now (its Date header, in UNIX seconds), read with a HEAD of KEY:
        leases compare times on one clock, the store's, never a machine's own."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:  # a missing object's 404 still carries the store's Date
            if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey"}:
                raise self._fail(error, key) from None
            answer = error.response
        except Exception as error:
            raise self._fail(error, key) from None
        date = answer["ResponseMetadata"]["HTTPHeaders"].get("date")
        if not date:
            raise StoreError(f"{self.where(key)}: the store sent no Date header")
        return parsedate_to_datetime(date).timestamp()
