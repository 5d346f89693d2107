"""Every event is bounded before it is committed: every string and list a request can carry has a limit, so an
oversized field is a 422 naming it, never an event the broker refuses. Checked on each service's OpenAPI."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI

SERVICES = ["gateway", "registry", "sites", "inspection", "notifications"]


def _app(service: str) -> FastAPI:
    app = FastAPI()
    for router in importlib.import_module(f"{service}.api").routers():
        app.include_router(router)
    return app


def _unbounded(schema: dict, components: dict, where: str, seen: set[str]) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _unbounded(components[name], components, where, seen | {name})
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _unbounded(option, components, where, seen)
    kind = schema.get("type")
    if kind == "string" and not ({"maxLength", "enum", "const", "contentMediaType"} & set(schema)
                                 or schema.get("format") in ("date", "date-time", "binary", "uuid", "email")):
        found.append(f"{where} (text without maxLength)")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where} (list without maxItems)")
        found += _unbounded(schema.get("items", {}), components, f"{where}[]", seen)
    if kind == "object" or "properties" in schema:
        for prop, sub in schema.get("properties", {}).items():
            found += _unbounded(sub, components, f"{where}.{prop}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                found.append(f"{where} (map without maxProperties)")
            found += _unbounded(extra, components, f"{where}{{}}", seen)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_string_and_list_has_a_limit(service):
    spec = _app(service).openapi()
    components = spec.get("components", {}).get("schemas", {})
    unbounded = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    continue  # identifiers looked up or parsed, never stored as sent; the server bounds a URL
                unbounded += _unbounded(param.get("schema", {}), components, f"{where} {param['name']}", set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded(media.get("schema", {}), components, f"{where} body", set())
    assert not unbounded, "\n".join(sorted(set(unbounded)))
