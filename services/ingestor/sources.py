"""Where CUR deliveries live: a local directory or an S3 prefix (boto3).

Both list manifests under their root and hand the pipeline a local path for
each data file. S3 objects are downloaded to a temporary file (streamed to disk
by boto3's transfer manager), so memory stays bounded whatever the file size.
Manifests name files by their bucket key; a local directory may mirror the
bucket root or just the report prefix, so keys are resolved by trying shorter
suffixes of the key.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from services.ingestor.cur.manifest import Delivery, is_manifest, parse_manifest
from services.ingestor.exceptions import ManifestError, SourceError
from shared.logging import get_logger

log = get_logger(__name__)


class CurSource(Protocol):
    """A place deliveries can be listed and read from."""

    uri: str

    def deliveries(self) -> list[Delivery]:
        """Every readable manifest under the root (bad manifests are logged and skipped)."""
        ...

    def fetch(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local path holding the data file ``key`` for the duration of the context."""
        ...


class LocalSource:
    """A directory tree laid out like the S3 bucket (or the report prefix within it)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(f"{root} is not a directory; pass the folder holding the reports")
        self.root = root
        self.uri = str(root)

    def deliveries(self) -> list[Delivery]:
        """Parse every ``*-Manifest.json`` under the root."""
        found: list[Delivery] = []
        for path in sorted(self.root.rglob("*-Manifest.json")):
            key = path.relative_to(self.root).as_posix()
            try:
                found.append(parse_manifest(path.read_bytes(), key, path.stat().st_mtime))
            except ManifestError as exc:
                log.error("manifest skipped", manifest=key, reason=str(exc))
        return found

    def resolve(self, key: str) -> Path:
        """The local file for a bucket key: the longest suffix of it that exists under root."""
        parts = key.split("/")
        for start in range(len(parts)):
            candidate = self.root.joinpath(*parts[start:])
            if candidate.is_file():
                return candidate
        return self.root / key

    @contextlib.contextmanager
    def fetch(self, key: str) -> Iterator[Path]:
        """The file in place (no copy)."""
        yield self.resolve(key)


class S3Source:
    """Deliveries under ``s3://bucket/prefix``, read with a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}"

    @classmethod
    def parse_uri(cls, uri: str) -> tuple[str, str]:
        """``s3://bucket/prefix`` -> (bucket, prefix)."""
        if not uri.startswith("s3://") or len(uri) <= 5:
            raise SourceError(f"{uri!r} is not an s3://bucket/prefix URI")
        bucket, _, prefix = uri[5:].partition("/")
        return bucket, prefix

    def deliveries(self) -> list[Delivery]:
        """List the prefix (paginated) and parse each manifest object."""
        found: list[Delivery] = []
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not is_manifest(key):
                    continue
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                try:
                    found.append(parse_manifest(body, key, obj["LastModified"].timestamp()))
                except ManifestError as exc:
                    log.error("manifest skipped", manifest=key, reason=str(exc))
        return found

    @contextlib.contextmanager
    def fetch(self, key: str) -> Iterator[Path]:
        """Download the object to a temporary file, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="spendstream-cur-") as tmp:
            path = Path(tmp) / key.rsplit("/", 1)[-1]
            try:
                self.client.download_file(self.bucket, key, str(path))
            except Exception as exc:  # botocore raises many types; the file is refused
                raise SourceError(f"s3://{self.bucket}/{key}: cannot download ({exc})") from exc
            yield path
