"""Restricted zones for high-emission machines (禁用区, rule E4), pure.

A zone lies in one district and is the whole district, a list of its streets and towns, or GeoJSON polygons.
Which emission stages count as high emission belongs to each zone (default: 1, and X until proven otherwise),
so a city that also bans China II changes a zone, not the code.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import shapely
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError
from shapely.geometry import Point, shape

from nrmm_kernel.codes import STAGES
from nrmm_kernel.fields import DistrictCode, ShortText

DEFAULT_HIGH_EMISSION_STAGES = ("1", "X")
GEOMETRY_BYTES = 100_000  # a district's polygons: well under a commit's limit
StreetName = Annotated[str, StringConstraints(max_length=50)]


class ZoneKind(StrEnum):
    DISTRICT = "district"  # the whole district
    STREETS = "streets"  # listed streets and towns (街道/镇)
    POLYGONS = "polygons"  # GeoJSON Polygon or MultiPolygon, WGS84 longitude/latitude


def normalize_place(name: str) -> str:
    return "".join(name.split())


class ZoneDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    district: DistrictCode
    kind: ZoneKind
    streets: list[StreetName] = Field(default=[], max_length=500)
    geometry: dict | None = Field(default=None, description="GeoJSON Polygon or MultiPolygon (kind polygons), "
                                  f"at most {GEOMETRY_BYTES // 1000} KB")
    high_emission_stages: list[ShortText] = Field(default=list(DEFAULT_HIGH_EMISSION_STAGES), min_length=1,
                                                   max_length=6)

    @field_validator("geometry", mode="before")
    @classmethod
    def _geometry_text(cls, value):
        """Events and read models keep the polygons as GeoJSON text (see ``_geometry_as_text``): read back, and
        also taken from a client that sends text."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise PydanticCustomError("invalid_geometry", "GeoJSON 多边形无效 (unreadable JSON)") from None
        return value

    @field_serializer("geometry", when_used="json")
    def _geometry_as_text(self, value: dict | None) -> str | None:
        """In JSON form (events, the zones read model) the polygons are GeoJSON text: their coordinates are arrays of
        arrays, which FerretDB refuses to store ("nested arrays are not supported")."""
        return None if value is None else json.dumps(value, separators=(",", ":"))

    @field_validator("geometry")
    @classmethod
    def _geometry_size(cls, value: dict | None) -> dict | None:
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > GEOMETRY_BYTES:
            raise PydanticCustomError("geometry_too_large", f"区域边界数据过大 (at most {GEOMETRY_BYTES // 1000} KB)")
        return value

    @field_validator("high_emission_stages")
    @classmethod
    def _stages(cls, value: list[str]) -> list[str]:
        stages = sorted({v.strip().upper() for v in value})
        if any(s not in STAGES for s in stages) or "D" in stages:
            raise PydanticCustomError("invalid_stage", "高排放阶段须为 1、2、3、4 或 X")
        return stages

    @field_validator("streets")
    @classmethod
    def _streets(cls, value: list[str]) -> list[str]:
        names = sorted({normalize_place(v) for v in value if normalize_place(v)})
        return names

    @model_validator(mode="after")
    def _area(self):
        if self.kind is ZoneKind.STREETS and not self.streets:
            raise PydanticCustomError("streets_required", "按街道划定的禁用区须列出街道或镇")
        if self.kind is ZoneKind.POLYGONS:
            if self.geometry is None:
                raise PydanticCustomError("geometry_required", "按范围划定的禁用区须给出 GeoJSON 多边形")
            problem = geometry_problem(self.geometry)
            if problem:
                raise PydanticCustomError("invalid_geometry", f"GeoJSON 多边形无效 ({problem})")
        elif self.geometry is not None:
            raise PydanticCustomError("geometry_not_expected", "只有按范围划定的禁用区带有多边形")
        return self


def geometry_problem(geometry: dict) -> str | None:
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return "type must be Polygon or MultiPolygon"
    try:
        shp = shape(geometry)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the caller's bad input
        return f"unreadable: {exc}"[:120]
    if shp.is_empty or not shp.is_valid:
        return "empty or self-intersecting"
    minx, miny, maxx, maxy = shp.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return "coordinates must be longitude, latitude"
    return None


@lru_cache(maxsize=4096)
def _prepared(geometry_json: str):
    geometry = shape(json.loads(geometry_json))
    shapely.prepare(geometry)
    return geometry


class SiteLocation(BaseModel):
    """Where a site is, as far as zones care."""

    model_config = ConfigDict(frozen=True)

    district: str
    street: str
    longitude: float | None = None
    latitude: float | None = None


def covers(zone: ZoneDefinition, site: SiteLocation) -> bool:
    """Whether the zone covers the site. A site without coordinates cannot be placed outside a polygon zone of its
    district, so it is taken to be inside (rule E4, deny by default) until its coordinates are recorded."""
    if zone.district != site.district:
        return False
    if zone.kind is ZoneKind.DISTRICT:
        return True
    if zone.kind is ZoneKind.STREETS:
        return normalize_place(site.street) in zone.streets
    if site.longitude is None or site.latitude is None:
        return True
    polygon = _prepared(json.dumps(zone.geometry, sort_keys=True))
    return polygon.covers(Point(site.longitude, site.latitude))


def is_high_emission(stage: str, zone: ZoneDefinition) -> bool:
    return stage in zone.high_emission_stages
