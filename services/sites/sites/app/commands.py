"""Command handlers of the sites service: registration, site life and restricted zones (the gate: gate.py)."""

from __future__ import annotations

import ulid

from nrmm_kernel.auth import Principal
from nrmm_kernel.envelope import Actor
from nrmm_kernel.errors import ConcurrencyError, Conflict, Forbidden, NotFound
from nrmm_kernel.reference import Department, Role

from ..domain.model import SiteDetails, SiteStatus, StateOwnership
from ..domain.site import Site, Zone
from ..domain.zones import ZoneDefinition
from . import access
from .accounts import GatewayAccounts
from .streams import WriteSide


class SitesCommands:
    def __init__(self, write: WriteSide, accounts: GatewayAccounts):
        self.store = write.store
        self.accounts = accounts
        self.sites, self.zones, self.presences = write.sites, write.zones, write.presences
        self.occupancy, self.zone_index, self.zone_definitions = write.occupancy, write.zone_index, \
            write.zone_definitions
        self._site = write.site

    # sites (rule E1) -----------------------------------------------------------------------------
    async def register_site(self, *, site_code: str, details: SiteDetails, status: SiteStatus, password: str,
                            sms_code: str) -> Site:
        if await self.store.stream_version(self.sites.stream_id(site_code)) > 0:
            raise Conflict("场地编号已被注册 (site code already registered)", code="duplicate_site_code",
                           field="site_code")
        account_id = await self.accounts.create_site_admin(
            site_code=site_code, district=details.district, name=details.manager.name,
            mobile=details.manager.mobile, password=password, sms_code=sms_code)
        site = Site(site_code)
        site.register(details=details, status=status, admin_account_id=account_id)
        try:
            await self.sites.save(site, actor=Actor(account_id=account_id, role=Role.SITE_ADMIN.value))
        except ConcurrencyError:
            raise Conflict("场地编号已被注册 (site code already registered)", code="duplicate_site_code",
                           field="site_code") from None
        return site

    @staticmethod
    def _site_facts(site: Site) -> dict:
        return {"site_code": site.id, "district": site.details.district, "department": site.details.department}

    async def update_site(self, who: Principal, site_code: str, details: SiteDetails) -> Site:
        site = await self._site(site_code)
        access.require_manage_site(who, self._site_facts(site))
        site.update(details, by_site_admin=who.role is Role.SITE_ADMIN)
        await self.sites.save(site, actor=who.as_actor())
        return site

    async def change_status(self, who: Principal, site_code: str, status: SiteStatus, reason: str | None) -> Site:
        site = await self._site(site_code)
        access.require_manage_site(who, self._site_facts(site))
        if status is not SiteStatus.COMPLETED:
            site.change_status(status, inside=[], reason=reason, by_site_admin=who.role is Role.SITE_ADMIN)
            await self.sites.save(site, actor=who.as_actor())
            return site
        # rule E2: not completed with a machine inside, decided on the write side (occupancy.py), also when an
        # entry races the completion
        await self.occupancy.begin_closing(site_code)
        try:
            site = await self._site(site_code)  # as it is now that no entry can slip past the closing mark

            async def backed(machine_key: str) -> bool:
                presence = await self.presences.load(machine_key)
                return presence is not None and site_code in presence.inside

            inside = await self.occupancy.machines_inside(site_code, backed)
            site.change_status(status, inside=inside, reason=reason, by_site_admin=who.role is Role.SITE_ADMIN)
            await self.sites.save(site, actor=who.as_actor())
        finally:
            await self.occupancy.end_closing(site_code)
        return site

    async def add_supervision_engineer(self, who: Principal, site_code: str, *, username: str, password: str,
                                       name: str | None) -> dict:
        """Rule E6: an administrator of the site's district and department (or the ecology bureau's) binds a
        supervision engineer's account to the site; the account takes the site's district."""
        if who.role is not Role.ADMIN:
            raise Forbidden("仅管理员可以创建监理人员账户 (administrators only)", code="role_not_allowed")
        site = await self._site(site_code)
        access.require_manage_site(who, self._site_facts(site))
        return await self.accounts.create_supervision_engineer(
            site_code=site.id, district=site.details.district, username=username, password=password, name=name,
            created_by=who.account_id)

    # who governs the site (rule D3) ------------------------------------------------------------------
    async def confirm_department(self, who: Principal, site_code: str, accepted: bool, reason: str | None) -> Site:
        site = await self._site(site_code)
        access.require_department_admin(who, site.competent_department, site.details.district)
        site.confirm_department(accepted=accepted, reason=reason)
        await self.sites.save(site, actor=who.as_actor())
        return site

    async def declare_state_ownership(self, who: Principal, site_code: str, ownership: StateOwnership) -> Site:
        site = await self._site(site_code)
        access.require_manage_site(who, self._site_facts(site))
        site.declare_state_ownership(ownership)
        await self.sites.save(site, actor=who.as_actor())
        return site

    async def confirm_state_ownership(self, who: Principal, site_code: str, accepted: bool,
                                      reason: str | None) -> Site:
        site = await self._site(site_code)
        access.require_department_admin(who, Department.STATE_ASSETS.value, site.details.district)
        site.confirm_state_ownership(accepted=accepted, reason=reason)
        await self.sites.save(site, actor=who.as_actor())
        return site

    # restricted zones (rule E4) ------------------------------------------------------------------
    async def define_zone(self, who: Principal, definition: ZoneDefinition) -> Zone:
        access.require_manage_zone(who, definition.district)
        zone = Zone(str(ulid.ULID()))
        zone.define(definition)
        await self.zone_definitions.claim(zone.id, definition)  # an identical zone in force: 409 zone_exists
        await self.zone_index.add(zone.id, definition.district)  # before the event: the gate applies it at once
        await self.zones.save(zone, actor=who.as_actor())
        return zone

    async def change_zone(self, who: Principal, zone_id: str, definition: ZoneDefinition, active: bool) -> Zone:
        zone = await self.zones.load(zone_id)
        if zone is None:
            raise NotFound("禁用区不存在 (no such zone)", field="zone_id")
        access.require_manage_zone(who, zone.definition.district)
        zone.change(definition, active=active)
        if active:
            await self.zone_definitions.claim(zone.id, definition)
        await self.zones.save(zone, actor=who.as_actor())
        return zone
