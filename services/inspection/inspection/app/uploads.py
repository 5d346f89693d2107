"""Evidence photos and documents of inspections (rules D1, D2, D4, E5, E6), stored with GridFS.

Type is decided by content (magic bytes), never by the name or the declared type; photos are images."""

from __future__ import annotations

import asyncio
import hashlib
from enum import StrEnum
from functools import cached_property

import ulid
from fastapi import UploadFile
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.errors import AppError, NotFound, ValidationFailed
from registry.app.filetypes import check_file, sniff

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_REFERENCE = 12
BUCKET = "uploads"


class UploadKind(StrEnum):
    EVIDENCE_PHOTO = "evidence_photo"  # an inspector's photo of the machine (rule D4)
    RECTIFICATION_EVIDENCE = "rectification_evidence"  # repair invoice, device fitted, code application (rule D1)
    MANAGEMENT_RULES = "management_rules"  # the site's machine-management system (rule E5)
    CONTRACT = "contract"  # construction / supervision contract with its NRMM clauses (rule D2)
    FUEL_RECEIPT_PHOTO = "fuel_receipt_photo"  # 机械用油进货凭证 (rule E6)


IMAGE_ONLY = frozenset({UploadKind.EVIDENCE_PHOTO, UploadKind.FUEL_RECEIPT_PHOTO})


class UploadStore:
    def __init__(self, db: AsyncDatabase):
        self._db = db
        self._files = db[f"{BUCKET}.files"]

    @cached_property
    def _bucket(self) -> AsyncGridFSBucket:
        """Made on first use: a handler that reads no file (or a unit test's in-memory database) needs no bucket."""
        return AsyncGridFSBucket(self._db, bucket_name=BUCKET)

    async def save(self, account_id: str, kind: UploadKind, upload: UploadFile) -> dict:
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise AppError("文件超过 10 MB (file larger than 10 MB)", code="file_too_large", status=413, field="file")
        if not data:
            raise ValidationFailed("文件为空 (empty file)", code="empty_file", field="file")
        content_type = sniff(data[:8])
        if content_type is None:
            raise ValidationFailed("仅支持 JPEG、PNG 或 PDF 文件 (only JPEG, PNG or PDF)", code="unsupported_file_type",
                                   field="file")
        if kind in IMAGE_ONLY and not content_type.startswith("image/"):
            raise ValidationFailed("照片须为 JPEG 或 PNG 图片 (a photo must be an image)", code="photo_must_be_image",
                                   field="file")
        # decoded whole, off the loop, as the registry decodes its own: polyglots, truncated files and active PDFs
        # are refused (the registry's check; it belongs in the kernel once a third service needs it)
        content_type = await asyncio.to_thread(check_file, data)
        upload_id = str(ulid.ULID())
        metadata = {"account_id": account_id, "kind": kind.value, "content_type": content_type, "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()}
        await self._bucket.upload_from_stream_with_id(upload_id, upload.filename or kind.value, data, metadata=metadata)
        return {"upload_id": upload_id, **{k: metadata[k] for k in ("kind", "content_type", "size", "sha256")}}

    async def attach(self, ids: list[str], record: dict) -> None:
        """Those who may read ``record`` (a check, a violation, a site's duties) may read these uploads too."""
        if ids:
            await self._files.update_many({"_id": {"$in": ids}}, {"$addToSet": {"metadata.records": record}})

    async def read(self, upload_id: str) -> tuple[dict, bytes]:
        doc = await self._files.find_one({"_id": upload_id})
        if doc is None:
            raise NotFound("文件不存在 (no such upload)", code="unknown_upload", field="upload_id")
        try:
            stream = await self._bucket.open_download_stream(upload_id)
        except NoFile:
            raise NotFound("文件不存在 (no such upload)", code="unknown_upload", field="upload_id") from None
        return doc["metadata"], await stream.read()

    async def check(self, account_id: str, kind: UploadKind, ids: list[str], field: str) -> None:
        """Every referenced upload exists, is the caller's, and is of the kind it is used as."""
        if len(ids) > MAX_PER_REFERENCE:
            raise ValidationFailed(f"最多 {MAX_PER_REFERENCE} 个文件", code="too_many_files", field=field)
        if len(set(ids)) != len(ids):
            raise ValidationFailed("同一文件重复引用", code="duplicate_upload", field=field)
        for upload_id in ids:
            doc = await self._files.find_one({"_id": upload_id})
            meta = (doc or {}).get("metadata") or {}
            if doc is None or meta.get("account_id") != account_id:
                raise ValidationFailed(f"文件 {upload_id} 不存在或不属于您", code="unknown_upload", field=field)
            if meta.get("kind") != kind.value:
                raise ValidationFailed(f"文件 {upload_id} 是 {meta.get('kind')}，不是 {kind.value}",
                                       code="upload_kind_mismatch", field=field)
