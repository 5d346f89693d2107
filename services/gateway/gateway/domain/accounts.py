"""An account as sign-in and the account endpoints see it: its standing (the ``account_views`` projection of its
events, personal values opened) and its credentials (kept beside the events, never in them), pure.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    # changes with every password change and session revocation: a session (refresh-token family) remembers the
    # stamp it was opened under and ends when the account's stamp differs, whatever the order of concurrent writes
    credential_stamp: str
    created_at: datetime
    created_by: str | None = None
    department: Department | None = None
    district: str | None = None  # None: city level (staff); a site admin's district
    site_id: str | None = None
    mobile: str | None = None
    name: str | None = None
    disabled: bool = False
    token_version: int = 0  # access tokens minted before the last revocation are refused everywhere

    @property
    def principal(self) -> Principal:
        return Principal(account_id=self.account_id, role=self.role, department=self.department,
                         district=self.district, site_id=self.site_id, token_version=self.token_version)

    def public(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"account_id": self.account_id}
        for name in PUBLIC_FIELDS:
            value = getattr(self, name)
            shown[name] = value.value if isinstance(value, Role | Department) else value
        shown["disabled"] = self.disabled
        return shown

    @classmethod
    def from_parts(cls, view: dict[str, Any], credentials: dict[str, Any] | None,
                   opened: dict[str, str | None]) -> Account:
        """``view``: the projection's document; ``opened``: its sealed values (username, mobile, name), opened."""
        return cls(
            account_id=view["_id"], username=opened["username"] or "", role=Role(view["role"]),
            password_hash=(credentials or {}).get("password_hash", ""),
            credential_stamp=(credentials or {}).get("credential_stamp", ""),
            created_at=view["created_at"], created_by=view.get("created_by"),
            department=Department(view["department"]) if view.get("department") else None,
            district=view.get("district"), site_id=view.get("site_id"), mobile=opened.get("mobile"),
            name=opened.get("name"), disabled=bool(view.get("disabled", False)) or credentials is None,
            token_version=int(view.get("token_version") or 0),
        )
