"""An account: the credentials and the standing of one person (or one site's administrator), pure.

Accounts are state documents, not event streams: what they hold (a password hash) must never reach a topic,
and what other services need of them travels in the access token (role, department, district, site).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from nrmm_kernel.auth import Principal
from nrmm_kernel.reference import Department, Role

# what GET /api/auth/me and the account-making endpoints show; never the hash or the stamp
PUBLIC_FIELDS = ("username", "role", "department", "district", "site_id", "name", "mobile", "created_at")


@dataclass(frozen=True)
class Account:
    account_id: str
    username: str
    role: Role
    password_hash: str
    # changes with every password change: a session (refresh-token family) remembers the stamp it was opened
    # under and ends when the account's stamp differs, whatever the order of concurrent writes
    credential_stamp: str
    created_at: datetime
    created_by: str | None = None
    department: Department | None = None
    district: str | None = None  # None: city level (staff); a site admin's district
    site_id: str | None = None
    mobile: str | None = None
    name: str | None = None
    disabled: bool = False

    @property
    def principal(self) -> Principal:
        return Principal(account_id=self.account_id, role=self.role, department=self.department,
                         district=self.district, site_id=self.site_id)

    def public(self) -> dict[str, Any]:
        shown = {"account_id": self.account_id}
        for name in PUBLIC_FIELDS:
            value = getattr(self, name)
            shown[name] = value.value if isinstance(value, Role | Department) else value
        return shown

    def to_document(self) -> dict[str, Any]:
        doc = {"_id": self.account_id}
        for f in fields(self):
            if f.name == "account_id":
                continue
            value = getattr(self, f.name)
            doc[f.name] = value.value if isinstance(value, Role | Department) else value
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Account:
        return cls(
            account_id=doc["_id"], username=doc["username"], role=Role(doc["role"]),
            password_hash=doc["password_hash"], credential_stamp=doc.get("credential_stamp", ""),
            created_at=doc["created_at"], created_by=doc.get("created_by"),
            department=Department(doc["department"]) if doc.get("department") else None,
            district=doc.get("district"), site_id=doc.get("site_id"), mobile=doc.get("mobile"),
            name=doc.get("name"), disabled=bool(doc.get("disabled", False)),
        )
