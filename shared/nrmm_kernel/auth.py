"""Auth primitives: verify signed JWT access tokens, the principal, and FastAPI dependencies.

Tokens are issued by the gateway; every service verifies them itself (deny by default).
Claims: sub (account id), role, dept (department), district ("01".."41", absent = city level),
site (a site admin's site), typ = "access".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from .envelope import Actor
from .errors import Forbidden, Unauthenticated
from .reference import STAFF_ROLES, Department, Role, is_district
from .revocation import TOKEN_VERSION_CLAIM, RevocationList

ALGORITHM = "HS256"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    role: Role
    department: Department | None = None
    district: str | None = None  # None: city level
    site_id: str | None = None
    token_version: int = 0  # the account's token version when the token was minted (revocation.py)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def city_level(self) -> bool:
        """Staff without a district work at city level; owners and site admins have no jurisdiction."""
        return self.is_staff and self.district is None

    def as_actor(self) -> Actor:
        return Actor(account_id=self.account_id, role=self.role.value)

    def can_see_district(self, district: str | None) -> bool:
        """A district office sees only its own district; city level sees all; non-staff see none."""
        if not self.is_staff:
            return False
        return self.city_level or (district is not None and district == self.district)

    def require_district(self, district: str | None) -> None:
        if not self.can_see_district(district):
            raise Forbidden("无权访问其他区县的数据 (outside your jurisdiction)", code="outside_jurisdiction")


class TokenVerifier:
    def __init__(self, secret: str, *, issuer: str, audience: str):
        self.secret = secret
        self.issuer = issuer
        self.audience = audience

    def mint(self, principal: Principal, ttl: timedelta = timedelta(minutes=15)) -> str:
        """Sign an access token (the gateway's job; tests and tools use it with the same key)."""
        now = datetime.now(UTC)
        claims: dict[str, object] = {
            "sub": principal.account_id,
            "role": principal.role.value,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "typ": "access",
        }
        if principal.department:
            claims["dept"] = principal.department.value
        if principal.district:
            claims["district"] = principal.district
        if principal.site_id:
            claims["site"] = principal.site_id
        if principal.token_version:
            claims[TOKEN_VERSION_CLAIM] = principal.token_version
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                options={"require": ["sub", "role", "exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("登录已过期 (token expired)", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("无效的访问令牌 (invalid token)", code="invalid_token") from None
        if claims.get("typ") != "access":
            raise Unauthenticated("无效的访问令牌 (not an access token)", code="invalid_token")
        try:
            principal = Principal(
                account_id=claims["sub"],
                role=Role(claims["role"]),
                department=Department(claims["dept"]) if claims.get("dept") else None,
                district=claims.get("district"),
                site_id=claims.get("site"),
                token_version=int(claims.get(TOKEN_VERSION_CLAIM) or 0),
            )
        except (ValueError, TypeError):
            raise Unauthenticated("无效的访问令牌 (unknown role)", code="invalid_token") from None
        if principal.district is not None and not is_district(principal.district):
            raise Unauthenticated("无效的访问令牌 (unknown district)", code="invalid_token")
        return principal


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("请先登录 (missing bearer token)")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(credentials.credentials)
    revocations: RevocationList | None = getattr(request.app.state, "revocations", None)
    if revocations is not None:  # a disabled account's tokens stop working within seconds (revocation.py)
        await revocations.check(principal.account_id, principal.token_version)
    return principal


def require_role(*roles: Role) -> Callable[..., Principal]:
    """Dependency: the caller must hold one of ``roles`` (nothing is allowed by default)."""
    allowed = frozenset(roles)

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("无权执行此操作 (role not allowed)", code="role_not_allowed")
        return principal

    return dependency
