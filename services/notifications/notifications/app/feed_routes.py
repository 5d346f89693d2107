"""Department event feeds: where each event belongs (domain.feeds.Route), from what the feed router keeps of the
platform (``feed_context``): each site's district and department, each machine record's code and district, where
each machine is (its presence, from the sites topic), and which site each inspection check was made at."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from nrmm_kernel.codes import MalformedCode, parse_code
from nrmm_kernel.envelope import EventEnvelope

from ..domain.feeds import Route, SitePlace

CACHED = 100_000  # context documents kept in memory (the oldest is forgotten first)


def _code(code: str | None):
    try:
        return parse_code(code) if code else None
    except MalformedCode:
        return None


class FeedContext:
    def __init__(self, coll: AsyncCollection):
        self.coll = coll
        self._cache: dict[str, dict | None] = {}

    async def _get(self, key: str) -> dict | None:
        if key in self._cache:
            return self._cache[key]
        doc = await self.coll.find_one({"_id": key})
        self._remember(key, doc)
        return doc

    async def _set(self, key: str, values: dict) -> dict:
        doc = {**(await self._get(key) or {}), **values, "_id": key}
        await self.coll.replace_one({"_id": key}, doc, upsert=True)
        self._remember(key, doc)
        return doc

    async def _drop(self, key: str) -> None:
        await self.coll.delete_one({"_id": key})
        self._remember(key, None)

    def _remember(self, key: str, doc: dict | None) -> None:
        self._cache.pop(key, None)
        self._cache[key] = doc
        if len(self._cache) > CACHED:
            self._cache.pop(next(iter(self._cache)))

    async def route(self, service: str, envelope: EventEnvelope) -> Route:
        """Record what the event says of the platform, then say where it belongs."""
        if service == "registry":
            return await self._registry(envelope)
        return await self._at_site(service, envelope)

    # the registry: a machine's events go to its district, and to the site it is on -----------------------------
    async def _registry(self, envelope: EventEnvelope) -> Route:
        data, key = envelope.data, f"machine:{envelope.streamid}"
        values = {}
        if isinstance(data.get("machine"), dict) and data["machine"].get("district"):
            values["district"] = data["machine"]["district"]  # the district of use (rule C5)
        if data.get("code") and envelope.event_name in ("CodeIssued", "ExternalMachineDeclared"):
            values["code"] = data["code"]
        machine = await self._set(key, values) if values else (await self._get(key) or {})
        code = _code(machine.get("code"))
        districts = {d for d in (machine.get("district"), code.district if code and code.is_chongqing else None) if d}
        sites: tuple[SitePlace, ...] = ()
        if code is not None:
            presence = await self._get(f"presence:{code.machine_key}")
            if presence:  # the machine is on a site now: the site's department receives its events
                place = await self._site(presence["site_code"], presence)
                sites = (place,)
                if place.district:
                    districts.add(place.district)
        return Route(districts=frozenset(districts), sites=sites)

    # sites and inspections: an event of a site -------------------------------------------------------------------
    async def _at_site(self, service: str, envelope: EventEnvelope) -> Route:
        data, name = envelope.data, envelope.event_name
        if name in ("ZoneDefined", "ZoneChanged"):
            return Route(districts=frozenset({data["definition"]["district"]}))
        if name in ("SiteRegistered", "SiteUpdated"):
            site_code = data.get("site_code") or envelope.streamid.removeprefix("site-")
            details = data["details"]
            await self._set(f"site:{site_code}", {"district": details["district"],
                                                  "department": details.get("department")})
        site_code = data.get("site_code")
        if site_code is None and envelope.streamid.startswith("site-"):
            site_code = envelope.streamid.removeprefix("site-")
        if service == "inspection":
            check = f"check:{envelope.streamid}"
            if site_code is not None and envelope.streamid.startswith("check-"):
                if (await self._get(check) or {}).get("site_code") != site_code:
                    await self._set(check, {"site_code": site_code})
            elif site_code is None:
                site_code = (await self._get(check) or {}).get("site_code")
        if name == "MachineEntered":
            await self._set(f"presence:{_key(data['machine']['code'])}",
                            {"site_code": site_code, "stay_id": data["stay_id"], "district": data["district"],
                             "department": data["department"]})
        elif name == "MachineExited":
            presence_key = f"presence:{_key(data['code'])}"
            if (await self._get(presence_key) or {}).get("stay_id") == data["stay_id"]:
                await self._drop(presence_key)
        if site_code is None:
            return Route()
        place = await self._site(site_code, data)
        return Route(districts=frozenset({place.district} if place.district else ()), sites=(place,))

    async def _site(self, site_code: str, fallback: dict) -> SitePlace:
        site = await self._get(f"site:{site_code}") or {}
        return SitePlace(site_code, site.get("district") or fallback.get("district"),
                         site.get("department") or fallback.get("department"))


def _key(code: str) -> str:
    parsed = _code(code)
    return parsed.machine_key if parsed else code
