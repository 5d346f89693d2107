"""Uploaded files (photos, PDFs) kept in the service's own database with GridFS: what every service that takes
uploads shares. The service decides who may upload what and who may read it; this decides what a file is.

Type is decided by content, the whole file decoded (filetypes.py), never by the name or the declared type; the
client's file name is not kept (it is theirs to make up, and would be served back).
"""

from __future__ import annotations

import asyncio
import hashlib
from functools import cached_property
from typing import Any

import ulid
from fastapi import UploadFile
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from .errors import AppError, NotFound, ValidationFailed
from .filetypes import check_file, sniff

MAX_BYTES = 10 * 1024 * 1024
BUCKET = "uploads"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


class FileTooLarge(AppError):
    status = 413
    code = "file_too_large"


class StoredFiles:
    """One GridFS bucket of checked files, each with its metadata."""

    def __init__(self, db: AsyncDatabase[Any], bucket: str = BUCKET):
        self._db = db
        self._name = bucket
        self.files: AsyncCollection[Any] = db[f"{bucket}.files"]

    @cached_property
    def _bucket(self) -> AsyncGridFSBucket:
        """Made on first use: a handler that reads no file (or a unit test's in-memory database) needs no bucket."""
        return AsyncGridFSBucket(self._db, bucket_name=self._name)

    async def receive(self, upload: UploadFile, *, image_only: bool = False) -> tuple[bytes, str]:
        """The upload's bytes and their content type, after every check; nothing is stored yet."""
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise FileTooLarge("文件超过 10 MB (file larger than 10 MB)", field="file")
        if not data:
            raise ValidationFailed("文件为空 (empty file)", code="empty_file", field="file")
        head = sniff(data[:8])
        if image_only and head is not None and not head.startswith("image/"):
            raise ValidationFailed("照片须为 JPEG 或 PNG 图片 (a photo must be an image)", code="photo_must_be_image",
                                   field="file")
        # decoded whole, off the loop: polyglots, truncated files and active PDFs are refused
        return data, await asyncio.to_thread(check_file, data)

    async def store(self, data: bytes, content_type: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Keep checked bytes; returns what a client is told of them (with the new ``upload_id``)."""
        upload_id = str(ulid.ULID())
        metadata = {**metadata, "content_type": content_type, "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()}
        await self._bucket.upload_from_stream_with_id(upload_id, f"{upload_id}.{EXTENSIONS[content_type]}", data,
                                                      metadata=metadata)
        return {"upload_id": upload_id, **{k: metadata[k] for k in ("kind", "content_type", "size", "sha256")}}

    async def metadata(self, upload_id: str) -> dict[str, Any] | None:
        doc = await self.files.find_one({"_id": upload_id})
        return None if doc is None else dict(doc["metadata"])

    async def read(self, upload_id: str, *, code: str = "not_found") -> tuple[dict[str, Any], bytes]:
        meta = await self.metadata(upload_id)
        if meta is None:
            raise NotFound("文件不存在 (no such upload)", code=code, field="upload_id")
        try:
            stream = await self._bucket.open_download_stream(upload_id)
        except NoFile:
            raise NotFound("文件不存在 (no such upload)", code=code, field="upload_id") from None
        return meta, await stream.read()
