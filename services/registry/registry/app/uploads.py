"""Uploaded documents and photos (rule C4), stored in the database with GridFS.

Type is decided by content, the whole file decoded (nrmm_kernel/uploads.py), never by the name or the declared
type; size and count are limited; only the owner and staff within their jurisdiction may read them.
"""

from __future__ import annotations

from fastapi import UploadFile
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.errors import AppError, ValidationFailed
from nrmm_kernel.uploads import StoredFiles

from ..domain.model import UploadKind

MAX_UPLOADS_PER_OWNER = 500
MAX_PER_KIND = 6


class UploadStore:
    def __init__(self, db: AsyncDatabase):
        self._stored = StoredFiles(db)
        self._files = self._stored.files

    async def ensure_indexes(self) -> None:
        await self._files.create_index([("metadata.owner_account_id", 1)])  # an owner's count, at each upload

    async def save(self, owner_account_id: str, kind: UploadKind, upload: UploadFile) -> dict:
        data, content_type = await self._stored.receive(upload, image_only=kind.value.startswith("photo_"))
        if await self._files.count_documents({"metadata.owner_account_id": owner_account_id}) >= MAX_UPLOADS_PER_OWNER:
            raise AppError("上传文件数量已达上限 (upload limit reached)", code="upload_limit", status=429, field="file")
        return await self._stored.store(data, content_type, {"owner_account_id": owner_account_id, "kind": kind.value})

    async def describe(self, upload_id: str) -> dict | None:
        meta = await self._stored.metadata(upload_id)
        return None if meta is None else {"upload_id": upload_id, **meta}

    async def read(self, upload_id: str) -> tuple[dict, bytes]:
        meta, data = await self._stored.read(upload_id)
        return {"upload_id": upload_id, **meta}, data

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
