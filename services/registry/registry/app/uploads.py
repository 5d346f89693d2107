"""Uploaded documents and photos (rule C4), stored in the database with GridFS.

Type is decided by content, the whole file decoded (app/filetypes.py), never by the name or the declared type;
size and count are limited; only the owner and staff within their jurisdiction may read them.
"""

from __future__ import annotations

import asyncio
import hashlib
from functools import cached_property

import ulid
from fastapi import UploadFile
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.errors import AppError, NotFound, ValidationFailed

from ..domain.model import UploadKind
from .filetypes import check_file, sniff

MAX_BYTES = 10 * 1024 * 1024
MAX_UPLOADS_PER_OWNER = 500
MAX_PER_KIND = 6
BUCKET = "uploads"

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


class TooLarge(AppError):
    status = 413
    code = "file_too_large"


class UploadStore:
    def __init__(self, db: AsyncDatabase):
        self._db = db
        self._files = db[f"{BUCKET}.files"]

    @cached_property
    def _bucket(self) -> AsyncGridFSBucket:
        """Made on first use: a handler that reads no file (or a unit test's in-memory database) needs no bucket."""
        return AsyncGridFSBucket(self._db, bucket_name=BUCKET)

    async def save(self, owner_account_id: str, kind: UploadKind, upload: UploadFile) -> dict:
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise TooLarge("文件超过 10 MB (file larger than 10 MB)", field="file")
        if not data:
            raise ValidationFailed("文件为空 (empty file)", code="empty_file", field="file")
        if kind.value.startswith("photo_") and sniff(data[:8]) == "application/pdf":
            raise ValidationFailed("照片须为 JPEG 或 PNG 图片 (a photo must be an image)", code="photo_must_be_image",
                                   field="file")
        content_type = await asyncio.to_thread(check_file, data)  # issue 13 point 5: decoded whole, off the loop
        if await self._files.count_documents({"metadata.owner_account_id": owner_account_id}) >= MAX_UPLOADS_PER_OWNER:
            raise AppError("上传文件数量已达上限 (upload limit reached)", code="upload_limit", status=429, field="file")
        upload_id = str(ulid.ULID())
        metadata = {
            "owner_account_id": owner_account_id,
            "kind": kind.value,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        # the client's file name is not kept: it is theirs to make up, and would be served back
        filename = f"{upload_id}.{EXTENSIONS[content_type]}"
        await self._bucket.upload_from_stream_with_id(upload_id, filename, data, metadata=metadata)
        return {"upload_id": upload_id, **{k: metadata[k] for k in ("kind", "content_type", "size", "sha256")}}

    async def describe(self, upload_id: str) -> dict | None:
        doc = await self._files.find_one({"_id": upload_id})
        return None if doc is None else {"upload_id": upload_id, **doc["metadata"]}

    async def read(self, upload_id: str) -> tuple[dict, bytes]:
        meta = await self.describe(upload_id)
        if meta is None:
            raise NotFound("文件不存在 (no such upload)", field="upload_id")
        try:
            stream = await self._bucket.open_download_stream(upload_id)
        except NoFile:
            raise NotFound("文件不存在 (no such upload)", field="upload_id") from None
        return meta, await stream.read()

    async def check_references(self, owner_account_id: str, uploads: dict[str, list[str]]) -> None:
        """Every referenced upload exists, is the owner's, and is of the kind it is filed under."""
        for kind, ids in uploads.items():
            if len(ids) > MAX_PER_KIND:
                raise ValidationFailed(f"{kind} 最多 {MAX_PER_KIND} 个文件", code="too_many_files",
                                       field=f"uploads.{kind}")
            if len(set(ids)) != len(ids):
                raise ValidationFailed("同一文件重复引用", code="duplicate_upload", field=f"uploads.{kind}")
            for upload_id in ids:
                meta = await self.describe(upload_id)
                if meta is None or meta["owner_account_id"] != owner_account_id:
                    raise ValidationFailed(f"文件 {upload_id} 不存在或不属于您", code="unknown_upload",
                                           field=f"uploads.{kind}")
                if meta["kind"] != kind:
                    raise ValidationFailed(f"文件 {upload_id} 是 {meta['kind']}，不是 {kind}",
                                           code="upload_kind_mismatch", field=f"uploads.{kind}")
