"""Every audit read recorded: who read which stream, log, export or timeline, and when.

One document per read in the service that served it (collection ``audit_reads``), inserted before the answer
leaves; listed by day (an equality lookup on ``day``, so FerretDB sorts one day's reads, never the whole log).
Readable by auditors (a district auditor: the reads of their district) and by the ecology bureau's city
administrator.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .auth import Principal
from .envelope import utcnow
from .errors import Forbidden
from .reference import Department, Role

COLLECTION = "audit_reads"
SHANGHAI = timezone(timedelta(hours=8))
MAX_LISTED = 1000


def may_read_the_log(who: Principal) -> bool:
    """Auditors, and the ecology bureau's city administrator."""
    return who.role is Role.AUDITOR or (who.role is Role.ADMIN and who.department is Department.ECOLOGY
                                        and who.district is None)


def require_log_reader(who: Principal) -> Principal:
    if not may_read_the_log(who):
        raise Forbidden("仅审计人员和市生态环境局管理员可查看审计访问记录 (auditors and the ecology bureau's city "
                        "administrator only)", code="role_not_allowed")
    return who


def day_of(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).date().isoformat()  # the auditors' calendar day


class AuditReads:
    def __init__(self, db: AsyncDatabase[Any], service: str):
        self._coll = db[COLLECTION]
        self.service = service

    async def ensure_indexes(self) -> None:
        await self._coll.create_index([("day", ASCENDING)], name="day")

    async def record(self, who: Principal, what: str, target: str, *, district: str | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        now = utcnow()
        await self._coll.insert_one({
            "_id": str(uuid.uuid4()), "day": day_of(now), "at": now, "service": self.service,
            "account_id": who.account_id, "role": who.role.value, "reader_district": who.district,
            "what": what, "target": target, "district": district, "detail": detail or {},
        })

    async def listed(self, who: Principal, day: date) -> list[dict[str, Any]]:
        require_log_reader(who)
        found = []
        async for doc in self._coll.find({"day": day.isoformat()}).limit(MAX_LISTED):
            if who.district is not None and doc.get("district") != who.district:
                continue  # a district auditor: the reads of their district only
            doc["read_id"] = doc.pop("_id")
            doc["at"] = doc["at"].isoformat() if isinstance(doc["at"], datetime) else doc["at"]
            found.append(doc)
        return sorted(found, key=lambda d: str(d["at"]))
