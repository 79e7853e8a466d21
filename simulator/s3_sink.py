"""S3 sink for the simulator's writers (boto3; ``endpoint_url`` for moto or MinIO)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3

from simulator.exceptions import WriterError


class S3Sink:
    """Objects under ``s3://bucket/prefix``."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        """Use an existing boto3 S3 client."""
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    @classmethod
    def from_uri(cls, uri: str, endpoint_url: str | None = None) -> S3Sink:
        """Parse ``s3://bucket/prefix`` and build a client (default credential chain)."""
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise WriterError(f"{uri!r} names no bucket; use s3://bucket/prefix")
        return cls(boto3.client("s3", endpoint_url=endpoint_url), bucket, prefix)

    def object_key(self, key: str) -> str:
        """The full object key in the bucket."""
        return self._key(key)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A temporary file uploaded to ``key`` once written without error."""
        return self._upload_on_close(self._key(key))

    @contextmanager
    def _upload_on_close(self, full_key: str) -> Iterator[BinaryIO]:
        # A real temporary file (not a spooled one): writers such as pyarrow may close
        # the handle themselves, and upload_file then streams it from disk in parts.
        fd, name = tempfile.mkstemp(prefix="spendstream-sim-")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
            self.client.upload_file(str(path), self.bucket, full_key)
        finally:
            path.unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self._key(key)}"
