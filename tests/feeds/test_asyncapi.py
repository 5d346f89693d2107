"""The AsyncAPI 3.0 document: generated from the event contracts, valid against the AsyncAPI 3.0.0 JSON Schema
(vendored from the @asyncapi/specs package: docs/schemas/), and the checked-in docs/asyncapi.json is what the code
generates (CI: regenerate with `uv run python -m notifications.asyncapi docs/asyncapi.json`)."""

from __future__ import annotations

import json

import jsonschema

from notifications.asyncapi import build, render
from notifications.domain.feeds import SOURCES
from tests.conftest import ROOT

SCHEMA = ROOT / "docs" / "schemas" / "asyncapi-3.0.0.json"
CHECKED_IN = ROOT / "docs" / "asyncapi.json"


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_the_document_is_valid_asyncapi_3():
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator().iter_errors(build())]
    assert not errors, errors[:5]


def test_the_validator_does_refuse_a_broken_document():
    broken = build()
    broken["operations"]["sendWebhooks"]["action"] = "publish"  # AsyncAPI 2's word, not 3's
    del broken["channels"]["departmentStream"]["messages"]
    broken["channels"]["departmentStream"]["address"] = 5
    assert len(list(validator().iter_errors(broken))) >= 2


def test_the_checked_in_document_is_what_the_code_generates():
    assert CHECKED_IN.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `uv run python -m notifications.asyncapi docs/asyncapi.json`")


def test_every_topic_and_every_event_type_with_its_schema():
    doc = build()
    addresses = {c["address"] for c in doc["channels"].values()}
    for service, contract in SOURCES.items():
        assert "{namespace}." + service + ".events" in addresses
        for type_name, model in contract.types.items():
            message = doc["components"]["messages"][f"{service}.{model.__name__}"]
            assert message["title"] == type_name
            data = message["payload"]["allOf"][1]["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
            schema = doc["components"]["schemas"][data]
            assert set(model.model_fields) <= set(schema["properties"])
    every = sum(len(c.types) for c in SOURCES.values())
    assert len(doc["channels"]["departmentWebhook"]["messages"]) == every
    assert len(doc["channels"]["departmentStream"]["messages"]) == every
