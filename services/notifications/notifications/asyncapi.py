"""The AsyncAPI 3.0 document of the platform's events, generated from the services' event contracts: every Kafka
topic, every event type with its JSON Schema, and the department feeds' webhook and Server-Sent Events channels.

Served at /api/notifications/asyncapi.json; checked in as docs/asyncapi.json (a test fails when the two differ).
Write it again with ``uv run python -m notifications.asyncapi docs/asyncapi.json``.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from pydantic.json_schema import models_json_schema

from .domain.feeds import SOURCES

REF = "#/components/schemas/{model}"
DESCRIPTION = (
    "Events of the Chongqing NRMM supervision platform (重庆市非道路移动机械监管平台). Each service publishes its "
    "events to its own Kafka topic (keyed by stream id, kept forever), each a CloudEvents 1.0 envelope in "
    "structured mode. Departments subscribe once (POST /api/notifications/subscriptions) and receive the events "
    "of their jurisdiction by pull (GET /api/notifications/feeds/{subscriptionId}/events?cursor=), Server-Sent "
    "Events, or webhooks signed per the Standard Webhooks specification.")


def _cloud_event() -> dict:
    text = {"type": "string"}
    return {
        "type": "object", "title": "CloudEvent",
        "description": "CloudEvents 1.0, structured mode. On the topics the envelope carries the acting account "
                       "(actorid, actorrole) and causationid; a feed leaves them out and adds sequence (its place in "
                       "the subscription's feed); a feed masks ID and mobile numbers unless its subscriber may see "
                       "them.",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "streamid", "streamversion",
                     "data"],
        "properties": {
            "specversion": {"const": "1.0"}, "id": text, "source": text, "type": text,
            "time": {"type": "string", "format": "date-time"}, "subject": {"type": ["string", "null"]},
            "datacontenttype": {"const": "application/json"}, "streamid": text,
            "streamversion": {"type": "integer", "minimum": 1}, "correlationid": text,
            "causationid": {"type": ["string", "null"]}, "actorid": {"type": ["string", "null"]},
            "actorrole": {"type": ["string", "null"]}, "schemaversion": {"type": "integer", "minimum": 1},
            "sequence": {"type": "string", "description": "feeds only: the event's sequence in its feed"},
            "data": {"type": "object"},
        },
    }


def _summary(model) -> str:
    doc = inspect.getdoc(model) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ") or model.__name__


def build() -> dict:
    models = [(service, name, model) for service, contract in SOURCES.items()
              for name, model in sorted(contract.types.items())]
    keys, defs = models_json_schema([(m, "validation") for _, _, m in models], ref_template=REF)
    schemas = {"CloudEvent": _cloud_event(), **dict(sorted(defs.get("$defs", {}).items()))}
    messages, channels, operations = {}, {}, {}
    every = {}
    for service in SOURCES:
        per_topic = {}
        for svc, type_name, model in models:
            if svc != service:
                continue
            key = f"{service}.{model.__name__}"
            data_ref = keys[(model, "validation")]
            messages[key] = {
                "name": model.__name__, "title": type_name, "summary": _summary(model),
                "contentType": "application/cloudevents+json",
                "payload": {"allOf": [{"$ref": "#/components/schemas/CloudEvent"},
                                      {"type": "object", "properties": {"type": {"const": type_name},
                                                                        "schemaversion": {"const":
                                                                                          model.schema_version},
                                                                        "data": data_ref}}]},
            }
            per_topic[model.__name__] = every[key] = {"$ref": f"#/components/messages/{key}"}
        channels[f"{service}Events"] = {
            "address": "{namespace}." + service + ".events", "title": f"the {service} service's topic",
            "description": f"Every event of the {service} service, keyed by stream id; retention: forever.",
            "servers": [{"$ref": "#/servers/kafka"}],
            "parameters": {"namespace": {"$ref": "#/components/parameters/namespace"}},
            "messages": per_topic,
        }
        operations[f"publish{service.title()}Events"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{service}Events"},
            "summary": f"The {service} service publishes its events (outbox relay, idempotent producer).",
            "messages": [{"$ref": f"#/channels/{service}Events/messages/{name}"} for name in per_topic],
        }
    channels["departmentWebhook"] = {
        "address": None, "title": "a subscription's webhook",
        "description": "POSTed to the subscription's webhook_url, one event per request, signed per Standard "
                       "Webhooks: webhook-id (<subscription>.<sequence>, the same on every attempt), "
                       "webhook-timestamp, webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body> per "
                       "active whsec_ secret). A 2xx answer is success; anything else is retried with doubling "
                       "delays, then dead-lettered.",
        "servers": [{"$ref": "#/servers/subscriber"}], "messages": dict(every),
    }
    channels["departmentStream"] = {
        "address": "/feeds/{subscriptionId}/stream", "title": "a subscription's Server-Sent Events",
        "description": "text/event-stream; each event's id is its cursor (<subscription>.<sequence>), its data the "
                       "CloudEvent; resume with Last-Event-ID.",
        "servers": [{"$ref": "#/servers/notifications"}],
        "parameters": {"subscriptionId": {"description": "the subscription's id (a ULID)"}},
        "messages": dict(every),
    }
    for name, channel in (("sendWebhooks", "departmentWebhook"), ("streamEvents", "departmentStream")):
        operations[name] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": "The notifications service sends each subscription the events its scope receives.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in every],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "重庆市非道路移动机械监管平台 events", "version": "1.0.0", "description": DESCRIPTION},
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "kafka": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "the platform's broker"},
            "notifications": {"host": "127.0.0.1:8004", "protocol": "http", "pathname": "/api/notifications",
                              "description": "the notifications service (behind the gateway: :8000)"},
            "subscriber": {"host": "subscriber.example", "protocol": "https",
                           "description": "a department's endpoint, named by its subscription"},
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas, "messages": messages,
            "parameters": {"namespace": {"default": "nrmm", "description": "NRMM_NAMESPACE"}},
        },
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
