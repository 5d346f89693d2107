"""An account's stream, pure: its standing folded from its events, and the commands administrators give it.

The account's credentials (password hash, credential stamp) are not here: they never enter an event (see
app/credentials.py). Rules: administrators manage accounts within their jurisdiction (rules.may_manage)."""

from __future__ import annotations

from nrmm_kernel.aggregate import CreatedAggregate, folds
from nrmm_kernel.errors import Conflict, ValidationFailed

from .events import (
    AccountDisabled,
    AccountEnabled,
    AccountRegistered,
    BoundToSite,
    PasswordChanged,
    RoleGranted,
    SessionsRevoked,
)

MAX_REASON = 200


class AccountStream(CreatedAggregate[AccountRegistered]):
    creation = AccountRegistered

    def __init__(self, aggregate_id: str, created: AccountRegistered) -> None:
        super().__init__(aggregate_id, created)
        self.role = created.role
        self.department = created.department
        self.district = created.district
        self.site_id: str | None = None
        self.disabled = False
        self.token_version = 0

    # folds ------------------------------------------------------------------------------------------------------
    @folds(RoleGranted)
    def _role(self, event: RoleGranted) -> None:
        self.role, self.department, self.district = event.role, event.department, event.district
        self.token_version = event.token_version

    @folds(BoundToSite)
    def _bound(self, event: BoundToSite) -> None:
        self.site_id, self.district = event.site_id, event.district

    @folds(PasswordChanged)
    def _password(self, event: PasswordChanged) -> None:
        pass  # the credential stamp changes beside the stream (credentials collection)

    @folds(AccountDisabled)
    def _disabled(self, event: AccountDisabled) -> None:
        self.disabled = True
        self.token_version = event.token_version

    @folds(AccountEnabled)
    def _enabled(self, event: AccountEnabled) -> None:
        self.disabled = False

    @folds(SessionsRevoked)
    def _revoked(self, event: SessionsRevoked) -> None:
        self.token_version = event.token_version

    # commands ---------------------------------------------------------------------------------------------------
    def grant_role(self, role: str, department: str | None, district: str | None) -> bool:
        """False when the account holds that role already (nothing recorded)."""
        if (role, department, district) == (self.role, self.department, self.district):
            return False
        if self.disabled:
            raise Conflict("账户已停用，请先启用 (account disabled)", code="account_disabled", field="account_id")
        self.record(RoleGranted(role=role, department=department, district=district, previous_role=self.role,
                                previous_department=self.department, previous_district=self.district,
                                token_version=self.token_version + 1))
        return True

    def bind_to_site(self, site_id: str, district: str) -> None:
        if self.site_id == site_id and self.district == district:
            return
        self.record(BoundToSite(site_id=site_id, district=district))

    def password_changed(self, reason: str) -> None:
        self.record(PasswordChanged(reason=reason))  # the event's Literal checks the reason

    def disable(self, reason: str) -> bool:
        """False when it was disabled already."""
        if self.disabled:
            return False
        self.record(AccountDisabled(reason=check_reason(reason), token_version=self.token_version + 1))
        return True

    def enable(self, reason: str | None) -> bool:
        if not self.disabled:
            return False
        self.record(AccountEnabled(reason=check_reason(reason) if reason else None))
        return True

    def revoke_sessions(self, reason: str) -> None:
        self.record(SessionsRevoked(reason=check_reason(reason), token_version=self.token_version + 1))


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed(f"请填写原因（不超过 {MAX_REASON} 字）", code="invalid_reason", field="reason")
    return reason
