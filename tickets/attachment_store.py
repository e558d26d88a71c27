"""Where attachment bytes live: a directory by default, or an S3-compatible bucket.

Any channel (the portal, the dashboard, email intake) saves and reads files through
`AttachmentStore`; the database keeps only the key, name, type, size and checksum.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from kernel.config import ConfigError, Settings


class StoreError(RuntimeError):
    """The store could not save or read a file."""


class AttachmentStore(Protocol):
    """Saves and reads attachment bytes by key."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class DirectoryStore:
    """Files under a directory (the data directory's attachments/ by default), mode 0600."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are made by us (ticket id and a random name), but never trust a path blindly.
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StoreError(f"attachment key {key!r} leaves the store")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise StoreError(f"attachment {key!r} is missing from the store") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """An S3-compatible bucket (AWS, MinIO, Ceph...) through boto3, installed separately."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, prefix: str = "") -> None:
        try:
            import boto3  # type: ignore[import-not-found]
        except ImportError as exc:
            raise StoreError("ATTACHMENT_STORE=s3 needs boto3: pip install boto3") from exc
        self.bucket, self.prefix = bucket, prefix
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url or None)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType=content_type
        )

    def get(self, key: str) -> bytes:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)[
                "Body"
            ].read()
        except Exception as exc:  # botocore's errors are not importable without it
            raise StoreError(f"attachment {key!r} could not be read from the bucket") from exc
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def store_from_settings(settings: Settings) -> AttachmentStore:
    """The store the ATTACHMENT_* settings describe (a directory under the data dir by default)."""
    config = settings.attachments
    if config.store == "s3":
        try:
            return S3Store(config.s3_bucket, config.s3_endpoint or None)
        except StoreError as exc:
            raise ConfigError(str(exc)) from exc
    return DirectoryStore(settings.data_dir / "attachments")
