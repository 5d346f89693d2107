"""The account model, pure: what a token carries and what is shown; never the hash."""

from datetime import UTC, datetime

from gateway.domain.accounts import Account
from nrmm_kernel.reference import Department, Role

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def inspector() -> Account:
    return Account(account_id="01JACC", username="insp-yuzhong", role=Role.INSPECTOR, password_hash="$argon2id$x",
                   credential_stamp="abc", created_at=NOW, created_by="01JADMIN", department=Department.HOUSING,
                   district="04", name="李检查")


def test_an_account_round_trips_through_its_document():
    account = inspector()
    doc = account.to_document()
    assert doc["_id"] == "01JACC" and doc["role"] == "inspector" and doc["department"] == "housing"
    assert Account.from_document(doc) == account


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


def test_documents_of_older_accounts_without_a_stamp_still_load():
    doc = inspector().to_document()
    del doc["credential_stamp"]
    assert Account.from_document(doc).credential_stamp == ""
