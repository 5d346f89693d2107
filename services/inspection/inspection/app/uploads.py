"""Evidence photos and documents of inspections (rules D1, D2, D4, E5, E6), stored with GridFS.

Type is decided by content, the whole file decoded (nrmm_kernel/uploads.py), never by the name or the declared
type; photos are images."""

from __future__ import annotations

from enum import StrEnum

from fastapi import UploadFile
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.uploads import StoredFiles

MAX_PER_REFERENCE = 12


class UploadKind(StrEnum):
    EVIDENCE_PHOTO = "evidence_photo"  # an inspector's photo of the machine (rule D4)
    RECTIFICATION_EVIDENCE = "rectification_evidence"  # repair invoice, device fitted, code application (rule D1)
    MANAGEMENT_RULES = "management_rules"  # the site's machine-management system (rule E5)
    CONTRACT = "contract"  # construction / supervision contract with its NRMM clauses (rule D2)
    FUEL_RECEIPT_PHOTO = "fuel_receipt_photo"  # 机械用油进货凭证 (rule E6)


IMAGE_ONLY = frozenset({UploadKind.EVIDENCE_PHOTO, UploadKind.FUEL_RECEIPT_PHOTO})


class UploadStore:
    def __init__(self, db: AsyncDatabase):
        self._stored = StoredFiles(db)
        self._files = self._stored.files

    async def save(self, account_id: str, kind: UploadKind, upload: UploadFile) -> dict:
        data, content_type = await self._stored.receive(upload, image_only=kind in IMAGE_ONLY)
        return await self._stored.store(data, content_type, {"account_id": account_id, "kind": kind.value})

    async def attach(self, ids: list[str], record: dict) -> None:
        """Those who may read ``record`` (a check, a violation, a site's duties) may read these uploads too."""
        if ids:
            await self._files.update_many({"_id": {"$in": ids}}, {"$addToSet": {"metadata.records": record}})

    async def read(self, upload_id: str) -> tuple[dict, bytes]:
        return await self._stored.read(upload_id, code="unknown_upload")

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
