"""Valid inputs for registry tests, built with the standards' own check characters."""

from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from nrmm_kernel.identity import id_card_check_char, uscc_check_char
from registry.domain.model import UploadKind

TODAY = date(2026, 11, 28)


def id_card(birth: str = "19800101", region: str = "500103", seq: str = "123") -> str:
    first17 = f"{region}{birth}{seq}"
    return first17 + id_card_check_char(first17)


def credit_code(body: str = "91500000MA5U000") -> str:
    first17 = (body + "00")[:17]
    return first17 + uscc_check_char(first17)


def registrant(name: str = "张三", kind: str = "person", **overrides) -> dict:
    number = id_card() if kind == "person" else credit_code()
    return {"kind": kind, "name": name, "id_number": number, "mobile": "13812345678", **overrides}


def machine(district: str = "01", stage: str = "4", acquired_days_ago: int = 10, today: date = TODAY,
            **overrides) -> dict:
    return {
        "category": "excavator", "brand": "三一", "model": "SY215C", "factory_serial": "SY215C-0001",
        "manufactured_on": (today - timedelta(days=400)).isoformat(),
        "acquired_on": (today - timedelta(days=acquired_days_ago)).isoformat(), "acquisition": "purchase",
        "engine": {"maker": "康明斯", "model": "QSB7", "serial": "E-778899"}, "rated_power_kw": 118.0,
        "fuel": "diesel", "emission_stage": stage, "pollution_control_device": "DOC+DPF", "district": district,
        **overrides,
    }


REQUIRED_KINDS = [k.value for k in UploadKind if k is not UploadKind.PHOTO_OTHER]


def uploads(prefix: str = "u") -> dict[str, list[str]]:
    return {kind: [f"{prefix}-{kind}"] for kind in REQUIRED_KINDS}


def image(fmt: str, size: tuple[int, int] = (16, 12)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(out, format=fmt)
    return out.getvalue()


def pdf(javascript: str | None = None, attachment: bytes | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if javascript:  # run when the document opens
        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject(javascript)})
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    if attachment is not None:
        writer.add_attachment("a.txt", attachment)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PNG = image("PNG")
JPEG = image("JPEG")
PDF = pdf()
