from datetime import timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI

from nrmm_kernel.auth import Principal, TokenVerifier, require_role
from nrmm_kernel.errors import Forbidden, Unauthenticated
from nrmm_kernel.http import install_error_handlers
from nrmm_kernel.reference import Department, Role

verifier = TokenVerifier("k" * 40, issuer="nrmm-gateway", audience="nrmm")
reviewer_yubei = Principal(account_id="r1", role=Role.REVIEWER, department=Department.ECOLOGY, district="11")


def test_a_minted_token_verifies_to_the_same_principal():
    assert verifier.verify(verifier.mint(reviewer_yubei)) == reviewer_yubei


@pytest.mark.parametrize("token_factory, code", [
    (lambda: verifier.mint(reviewer_yubei, ttl=timedelta(seconds=-5)), "token_expired"),
    (lambda: TokenVerifier("x" * 40, issuer="nrmm-gateway", audience="nrmm").mint(reviewer_yubei), "invalid_token"),
    (lambda: TokenVerifier("k" * 40, issuer="someone-else", audience="nrmm").mint(reviewer_yubei), "invalid_token"),
    (lambda: "not-a-jwt", "invalid_token"),
])
def test_bad_tokens_are_refused(token_factory, code):
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token_factory())
    assert refused.value.code == code


def test_district_office_sees_only_its_district_and_city_level_sees_all():
    assert reviewer_yubei.can_see_district("11")
    assert not reviewer_yubei.can_see_district("12")
    assert not reviewer_yubei.can_see_district(None)
    with pytest.raises(Forbidden):
        reviewer_yubei.require_district("01")
    city = Principal(account_id="c1", role=Role.DEPARTMENT_VIEWER, department=Department.HOUSING)
    assert city.can_see_district("12") and city.can_see_district("41")
    # a token without a district claim gives an owner or site admin no jurisdiction at all
    for role in (Role.OWNER, Role.SITE_ADMIN):
        assert not Principal(account_id="x", role=role).can_see_district("12")


def _app() -> httpx.AsyncClient:
    app = FastAPI()
    app.state.token_verifier = verifier
    install_error_handlers(app)

    @app.get("/review")
    def review(p: Principal = Depends(require_role(Role.REVIEWER, Role.ADMIN))):
        return {"account": p.account_id}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_role_dependency_denies_by_default():
    async with _app() as client:
        anonymous = await client.get("/review")
        owner = Principal(account_id="o1", role=Role.OWNER)
        denied = await client.get("/review", headers={"Authorization": f"Bearer {verifier.mint(owner)}"})
        allowed = await client.get("/review", headers={"Authorization": f"Bearer {verifier.mint(reviewer_yubei)}"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    assert denied.status_code == 403 and denied.json()["code"] == "role_not_allowed"
    assert allowed.status_code == 200 and allowed.json() == {"account": "r1"}
