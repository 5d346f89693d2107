"""What the gateway asks the sites service about a site, on behalf of the administrator making an account."""

from __future__ import annotations

import httpx
from fastapi import Request

from nrmm_kernel.errors import AppError, Forbidden, ValidationFailed


class SitesUnavailable(AppError):
    status = 503
    code = "upstream_unavailable"


async def site_seen_by(request: Request, site_id: str) -> dict:
    """The site as the caller may read it (``site_code``, ``district``, ``department``): the sites service applies
    the caller's own district and department, so an administrator staffs only the sites they govern."""
    client: httpx.AsyncClient = request.app.state.upstream
    base = request.app.state.runtime.settings.sites_url.rstrip("/")
    try:
        response = await client.get(f"{base}/api/sites/sites/{site_id}",
                                    headers={"Authorization": request.headers.get("authorization", "")})
    except httpx.HTTPError as exc:
        raise SitesUnavailable(f"场地服务暂时不可用，请稍后重试 ({type(exc).__name__})") from None
    if response.status_code == 404:
        raise ValidationFailed("场地不存在 (no such site)", code="unknown_site", field="site_id")
    if response.status_code in (401, 403):
        raise Forbidden("无权为该场地创建账户 (outside your jurisdiction)", code="outside_jurisdiction")
    if response.status_code != 200:
        raise SitesUnavailable(f"场地服务暂时不可用，请稍后重试 (HTTP {response.status_code})")
    site = response.json()
    return {"site_code": site["site_code"], "district": site["details"]["district"],
            "department": site["details"]["department"]}
