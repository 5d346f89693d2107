"""The account model, pure: what a token carries and what is shown; never the hash."""

from datetime import UTC, datetime

from gateway.domain.accounts import Account
from nrmm_kernel.reference import Department, Role

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def inspector() -> Account:
    return Account(account_id="01JACC", username="insp-yuzhong", role=Role.INSPECTOR, password_hash="$argon2id$x",
                   credential_stamp="abc", created_at=NOW, created_by="01JADMIN", department=Department.HOUSING,
                   district="04", name="李检查")


def view_of(account: Account) -> dict:
    """The account's view as the projection keeps it (personal values sealed there; given here opened)."""
    return {"_id": account.account_id, "username": "pd1:sealed", "role": account.role.value,
            "department": account.department.value if account.department else None, "district": account.district,
            "site_id": account.site_id, "created_at": account.created_at, "created_by": account.created_by,
            "disabled": account.disabled, "token_version": account.token_version}


OPENED = {"username": "insp-yuzhong", "mobile": None, "name": "李检查"}


def test_an_account_is_its_view_and_its_credentials():
    account = inspector()
    credentials = {"password_hash": "$argon2id$x", "credential_stamp": "abc"}
    assert Account.from_parts(view_of(account), credentials, OPENED) == account


def test_the_principal_carries_role_department_district_and_site():
    principal = inspector().principal
    assert (principal.role, principal.department, principal.district) == (Role.INSPECTOR, Department.HOUSING, "04")
    site_admin = Account(account_id="01JSA", username="S500104001", role=Role.SITE_ADMIN, password_hash="h",
                         credential_stamp="s", created_at=NOW, district="04", site_id="S500104001")
    assert site_admin.principal.site_id == "S500104001" and not site_admin.principal.is_staff


def test_the_public_view_never_shows_credentials():
    shown = inspector().public()
    assert shown["account_id"] == "01JACC" and shown["role"] == "inspector" and shown["department"] == "housing"
    assert "password_hash" not in shown and "credential_stamp" not in shown


def test_an_account_without_credentials_cannot_sign_in():
    loaded = Account.from_parts(view_of(inspector()), None, OPENED)
    assert loaded.disabled and loaded.password_hash == ""


def test_the_token_carries_the_token_version():
    account = Account.from_parts({**view_of(inspector()), "token_version": 3}, {"password_hash": "h"}, OPENED)
    assert account.principal.token_version == 3
