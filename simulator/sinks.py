"""Where writers put files: a local directory or an S3 prefix, behind one small interface.

Writers only ever ``open`` a key for binary writing and close it; the S3 sink stages
each object in a temporary file and uploads it on close (boto3's managed multipart
upload), so memory stays bounded whatever the file size.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol


class Sink(Protocol):
    """A place to write named files."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary file for ``key`` (relative, '/'-separated); the object exists on close."""
        ...

    def uri(self, key: str) -> str:
        """Where ``key`` ends up, for logs."""
        ...

    def object_key(self, key: str) -> str:
        """The key as a bucket-rooted object key (what manifests list)."""
        ...


class LocalSink:
    """Files under a local directory."""

    def __init__(self, root: Path) -> None:
        """Write under ``root`` (created as needed)."""
        self.root = root

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Open ``root/key`` for writing, creating parent directories."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")

    def uri(self, key: str) -> str:
        """The file's path."""
        return str(self.root / key)

    def object_key(self, key: str) -> str:
        """Keys are relative to the directory, which mirrors a bucket root."""
        return key


def open_sink(dest: str | Path, endpoint_url: str | None = None) -> Sink:
    """A sink for ``dest``: ``s3://bucket/prefix`` or a local directory."""
    text = str(dest)
    if text.startswith("s3://"):
        from simulator.s3_sink import S3Sink  # boto3 only when needed

        return S3Sink.from_uri(text, endpoint_url=endpoint_url)
    return LocalSink(Path(text))
