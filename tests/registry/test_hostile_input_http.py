"""Issue 13, point 4: hostile input is a 422 with its field, before anything is written (never a 5xx)."""

import pytest

from tests.registry.fixtures import PDF, PNG, machine, pdf, registrant
from tests.registry.test_bad_input_http import counts


@pytest.mark.parametrize("path", ["/api/registry/machines", "/api/registry/applications"])
def test_skip_beyond_the_bound_is_a_422(registry_service, path):
    svc = registry_service
    for who in (svc.owner("owner-skip"), svc.reviewer()):
        response = svc.http.get(path, params={"skip": str(2**63)}, headers=who)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "skip"


def test_a_nul_in_a_filter_is_a_422(registry_service):
    svc = registry_service
    response = svc.http.get("/api/registry/machines", params={"district": "01\x00"}, headers=svc.reviewer())
    assert response.status_code == 422, response.text
    assert response.json() == {"code": "control_character", "field": "district", "message": response.json()["message"]}


@pytest.mark.parametrize("field, value", [("name", "张\x00三"), ("name", "张\x1b三")])
def test_a_control_character_in_a_stored_string_writes_nothing(registry_service, infra, field, value):
    svc = registry_service
    owner = svc.owner("owner-nul")
    uploads = svc.upload_all(owner)
    before = counts(svc, infra)
    body = {"registrant": registrant(**{field: value}), "uploads": uploads,
            "machine": machine(factory_serial=f"NUL-{ord(value[1])}")}
    response = svc.http.post("/api/registry/applications", json=body, headers=owner)
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("control_character", f"registrant.{field}")
    assert counts(svc, infra) == before
    # the machine was not claimed either: the same machine applies at once
    body["registrant"] = registrant()
    assert svc.http.post("/api/registry/applications", json=body, headers=owner).status_code == 201


def test_tab_newline_and_carriage_return_are_text(registry_service):
    svc = registry_service
    owner = svc.owner("owner-tab")
    body = {"registrant": registrant(), "uploads": svc.upload_all(owner),
            "machine": machine(factory_serial="TAB-1", pollution_control_device="DOC\t+\r\nDPF")}
    assert svc.http.post("/api/registry/applications", json=body, headers=owner).status_code == 201


def test_a_request_over_the_service_limit_is_refused(registry_service):
    svc = registry_service
    response = svc.http.post("/api/registry/uploads", headers=svc.owner(), data={"kind": "photo_front"},
                             files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (13 * 1024 * 1024), "image/png")})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "request_too_large"


# issue 13 point 5: uploads ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, code", [
    (PNG + b"<html><script>alert(1)</script></html>", "trailing_data"),
    (pdf(javascript="app.alert(1)"), "active_pdf_content"),
    (pdf(attachment=b"payload"), "active_pdf_content"),
])
def test_polyglots_and_active_pdfs_are_refused_and_not_kept(registry_service, infra, content, code):
    svc = registry_service
    before = counts(svc, infra)
    response = svc.upload(svc.owner("owner-poly"), "identity_proof", content, name="id.pdf")
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == (code, "file")
    assert counts(svc, infra) == before


def test_uploads_are_served_as_files_that_cannot_run(registry_service):
    svc = registry_service
    owner = svc.owner("owner-serve")
    for content, disposition in ((PDF, "attachment"), (PNG, "inline")):
        made = svc.upload(owner, "identity_proof", content, name="<script>.html")
        assert made.status_code == 201, made.text
        served = svc.http.get(f"/api/registry/uploads/{made.json()['upload_id']}", headers=owner)
        assert served.status_code == 200 and served.content == content
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert "default-src 'none'" in served.headers["content-security-policy"]
        assert served.headers["content-disposition"].startswith(disposition)
        assert "script" not in served.headers["content-disposition"]  # the client's file name is not served back
