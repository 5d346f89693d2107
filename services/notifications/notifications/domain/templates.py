"""Notice templates, kept as data (templates.json): per template a title, the in-app text, and what the SMS and
WeChat providers know the template by (an approved SMS template code, a subscription template id and its fields)."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES_FILE = Path(__file__).with_name("templates.json")


class UnknownTemplate(LookupError):
    pass


class MissingParameter(KeyError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    text: str
    sms_template_code: str
    wechat_template_id: str
    wechat_fields: dict[str, str]

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.text) if f)

    def render(self, params: dict[str, Any]) -> str:
        missing = self.parameters - params.keys()
        if missing:
            raise MissingParameter(f"template {self.name} needs {sorted(missing)}")
        return self.text.format_map({k: "" if v is None else v for k, v in params.items()})

    def wechat_data(self, params: dict[str, Any]) -> dict[str, Any]:
        # subscription messages: each field at most 20 characters (thing.DATA)
        return {field: {"value": str(params.get(param, ""))[:20]} for field, param in self.wechat_fields.items()}


@cache
def templates() -> dict[str, Template]:
    raw = json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))
    return {name: Template(name=name, **spec) for name, spec in raw.items()}


def template(name: str) -> Template:
    try:
        return templates()[name]
    except KeyError:
        raise UnknownTemplate(name) from None
