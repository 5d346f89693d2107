"""Plate and card PDFs (rules P1, P3) and the card's QR payload, checked on what a person or a phone sees:
page sizes read from the PDF, glyph heights and positions measured on the rasterized page, the QR decoded
from the rasterized card."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from functools import cache

import pdfplumber
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from registry.app.documents import (
    PLATE_BLUE_RGB,
    CardData,
    parse_qr_payload,
    qr_payload,
    render_card,
    render_plate,
)

MM = 72 / 25.4  # points per millimetre
CODE = "4-N01A7K2P"
FLAT_CODE = "4-N14K7HZL"  # only glyphs with flat tops and bottoms: their ink spans exactly the cap height
WIDE_CODE = "X-NWWWWWWW"  # the widest serial characters
FLAT_GLYPHS = set("14KHZLNA7P")  # in Roboto Bold these sit on the baseline and stop at the cap height
PLATE_DPI = 150
CARD_DPI = 300


def px_to_mm(px: float, dpi: int) -> float:
    return px * 25.4 / dpi


def page_size_mm(pdf: bytes) -> tuple[float, float]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 1
        page = doc.pages[0]
        return page.width / MM, page.height / MM


def rasterize(pdf: bytes, dpi: int) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == 1
        return doc[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


@cache
def plate_image(code: str) -> Image.Image:
    return rasterize(render_plate(code), PLATE_DPI)


def white_mask(img: Image.Image) -> Image.Image:
    # halfway between the plate blue's grey level (about 55) and white: anti-aliased edges count by half
    return img.convert("L").point(lambda v: 255 if v >= 155 else 0)


def glyph_boxes(img: Image.Image) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (px) of the white glyphs, split at blank pixel columns, left to right."""
    mask = white_mask(img)
    width, height = mask.size
    boxes: list[list[int]] = []
    in_glyph = False
    for x in range(width):
        box = mask.crop((x, 0, x + 1, height)).getbbox()
        if box is None:
            in_glyph = False
            continue
        if not in_glyph:
            boxes.append([x, box[1], x + 1, box[3]])
            in_glyph = True
        else:
            last = boxes[-1]
            last[1], last[2], last[3] = min(last[1], box[1]), x + 1, max(last[3], box[3])
    return [tuple(b) for b in boxes]


# --- plate -------------------------------------------------------------------------------------------------------


def test_plate_page_is_50_by_10_cm():
    width, height = page_size_mm(render_plate(CODE))
    assert width == pytest.approx(500, abs=0.5)
    assert height == pytest.approx(100, abs=0.5)


def test_plate_background_is_plate_blue_and_text_white():
    img = plate_image(CODE)
    w, h = img.size
    r, g, b = PLATE_BLUE_RGB
    assert r <= 40 and b >= 150 and b - g >= 80  # a saturated plate blue such as RGB 0,61,165
    for x, y in [(2, 2), (w - 3, 2), (2, h - 3), (w - 3, h - 3), (w // 2, 3), (w // 2, h - 4)]:
        assert img.getpixel((x, y)) == pytest.approx(PLATE_BLUE_RGB, abs=2), (x, y)
    colours = {colour for _, colour in img.getcolors(maxcolors=1 << 20)}
    assert (255, 255, 255) in colours
    # nothing but blue, white and the anti-aliased blends between them: every pixel lies on that line
    for r, g, b in colours:
        t = (r - PLATE_BLUE_RGB[0]) / (255 - PLATE_BLUE_RGB[0])
        assert g == pytest.approx(PLATE_BLUE_RGB[1] + t * (255 - PLATE_BLUE_RGB[1]), abs=3)
        assert b == pytest.approx(PLATE_BLUE_RGB[2] + t * (255 - PLATE_BLUE_RGB[2]), abs=3)


@pytest.mark.parametrize("code", [FLAT_CODE, WIDE_CODE, "D-N41HKLMN"])
def test_plate_characters_are_70_mm_high(code):
    box = white_mask(plate_image(code)).getbbox()
    assert px_to_mm(box[3] - box[1], PLATE_DPI) == pytest.approx(70, abs=1)


def test_each_glyph_of_a_real_code_spans_the_cap_height():
    boxes = glyph_boxes(plate_image(CODE))
    assert len(boxes) == len(CODE)  # one ink island per character: none missing, none run together
    for ch, (_, top, _, bottom) in zip(CODE, boxes, strict=True):
        height = px_to_mm(bottom - top, PLATE_DPI)
        if ch == "-":
            assert height < 15
        elif ch in FLAT_GLYPHS:
            assert height == pytest.approx(70, abs=1), ch
        else:  # round glyphs (0, 2) overshoot the cap height a little above and below, as in any typeface
            assert 70 <= height <= 72.5, ch


@pytest.mark.parametrize("code", [CODE, FLAT_CODE, WIDE_CODE, "1-N1111111"])
def test_plate_text_is_centred(code):
    img = plate_image(code)
    left, top, right, bottom = white_mask(img).getbbox()
    assert px_to_mm((left + right) / 2, PLATE_DPI) == pytest.approx(250, abs=2)
    assert px_to_mm((top + bottom) / 2, PLATE_DPI) == pytest.approx(50, abs=2)


@pytest.mark.parametrize("code", [CODE, WIDE_CODE])
def test_wide_text_is_compressed_to_fit_with_margins_not_shrunk(code):
    left, top, right, bottom = white_mask(plate_image(code)).getbbox()
    assert px_to_mm(left, PLATE_DPI) >= 20
    assert px_to_mm(right, PLATE_DPI) <= 480
    assert px_to_mm(bottom - top, PLATE_DPI) >= 69


def test_short_text_is_not_stretched():
    # Every 10-character code is wider than the plate at 70 mm and gets compressed (to about 78 %); text that
    # fits keeps its natural width instead of being stretched to the margins.
    short = glyph_boxes(plate_image("4-N0"))
    full = glyph_boxes(plate_image(CODE))
    assert px_to_mm(short[-1][2] - short[0][0], PLATE_DPI) < 300
    short_four, full_four = short[0][2] - short[0][0], full[0][2] - full[0][0]
    assert full_four < short_four * 0.9
    assert px_to_mm(short[0][3] - short[0][1], PLATE_DPI) == pytest.approx(70, abs=1)


def test_plate_pdf_holds_the_code_as_text_in_an_embedded_bold_font():
    pdf = render_plate(CODE)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = doc.pages[0].chars
    assert "".join(c["text"] for c in chars) == CODE
    assert {c["fontname"].split("+")[-1] for c in chars} == {"Roboto-Bold"}
    assert b"/FontFile2" in pdf  # the TrueType font program travels with the PDF


def test_plate_upper_cases_and_rejects_non_codes():
    with pdfplumber.open(io.BytesIO(render_plate(" 4-n01a7k2p "))) as doc:
        assert "".join(c["text"] for c in doc.pages[0].chars) == CODE
    for bad in ["", "   ", "4-N01 A7K2P", "4-N01A7K2P\n1"]:
        with pytest.raises(ValueError):
            render_plate(bad)


# --- card --------------------------------------------------------------------------------------------------------

CARD = CardData(
    code=CODE,
    category="挖掘机",
    brand="卡特彼勒",
    model="320GC",
    emission_stage="国四",
    engine_power_kw=121.0,
    district_name="渝北区",
    owner_name="重庆渝建机械租赁有限公司",
    issue_date=dt.date(2024, 5, 6),
    reissue_count=2,
    qr_payload=qr_payload(CODE),
)


def read_qr(pdf: bytes) -> list[zxingcpp.Barcode]:
    return [b for b in zxingcpp.read_barcodes(rasterize(pdf, CARD_DPI)) if b.format == zxingcpp.BarcodeFormat.QRCode]


def test_card_page_is_88_by_60_mm():
    width, height = page_size_mm(render_card(CARD))
    assert width == pytest.approx(88, abs=0.5)
    assert height == pytest.approx(60, abs=0.5)


def test_card_qr_decodes_to_the_payload_and_is_big_and_robust_enough():
    (barcode,) = read_qr(render_card(CARD))
    assert barcode.text == qr_payload(CODE) == "NRMM:1:4-N01A7K2P"
    assert barcode.ec_level in {"M", "Q", "H"}
    pos = barcode.position
    width_px = max(pos.top_right.x, pos.bottom_right.x) - min(pos.top_left.x, pos.bottom_left.x)
    height_px = max(pos.bottom_left.y, pos.bottom_right.y) - min(pos.top_left.y, pos.top_right.y)
    assert px_to_mm(width_px, CARD_DPI) >= 30
    assert px_to_mm(height_px, CARD_DPI) >= 30
    assert parse_qr_payload(barcode.text) == CODE


def test_card_shows_the_code_and_the_machine_facts_with_chinese_labels():
    with pdfplumber.open(io.BytesIO(render_card(CARD))) as doc:
        text = doc.pages[0].extract_text()
    for expected in [
        CODE,
        "环保编码",
        "机械类别：",
        "挖掘机",
        "品牌型号：",
        "卡特彼勒 320GC",
        "排放阶段：",
        "国四",
        "发动机功率：",
        "121 kW",
        "使用区县：",
        "渝北区",
        "重庆渝建机械租赁有限公司",
        "2024-05-06",
        "补发次数：",
    ]:
        assert expected in text, expected
    assert "补发次数： 2" in text


def test_card_code_is_the_largest_text():
    with pdfplumber.open(io.BytesIO(render_card(CARD))) as doc:
        chars = doc.pages[0].chars
    code_sizes = {round(c["size"], 1) for c in chars if "Roboto" in c["fontname"]}
    other_sizes = {round(c["size"], 1) for c in chars if "Roboto" not in c["fontname"]}
    assert min(code_sizes) > max(other_sizes)


def test_card_chinese_labels_are_drawn_even_without_system_cjk_fonts():
    # The CJK font is embedded, so the labels appear on any viewer or printer; a non-embedded CID font
    # (STSong-Light) draws nothing in pdfium on a machine without Chinese fonts. Only labels are in this strip.
    pdf = render_card(CARD)
    assert pdf.count(b"/FontFile2") == 2
    img = rasterize(pdf, CARD_DPI).convert("L")
    dpmm = CARD_DPI / 25.4
    strip = img.crop((int(3 * dpmm), int(24 * dpmm), int(13 * dpmm), int(57 * dpmm)))
    dark = sum(count for count, level in strip.getcolors(1 << 16) if level < 100)
    assert dark > 0.05 * strip.size[0] * strip.size[1]


def test_card_with_long_values_still_scans_and_cuts_text_short():
    long = replace(
        CARD,
        owner_name="重庆市某某区某某建设工程集团有限公司第三分公司机械设备租赁部",
        brand="徐州工程机械集团有限公司",
        model="XE370DK-PLUS-HYBRID-2024",
        reissue_count=0,
    )
    pdf = render_card(long)
    (barcode,) = read_qr(pdf)
    assert barcode.text == "NRMM:1:4-N01A7K2P"
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        text = page.extract_text()
        qr_left = min(barcode.position.top_left.x, barcode.position.bottom_left.x) * 72 / CARD_DPI
        rightmost_text = max(c["x1"] for c in page.chars if c["top"] > 20 * MM)
    assert "…" in text
    assert "补发次数： 0" in text
    assert rightmost_text < qr_left - 4 * 72 * 1.28 / 25.4  # text stays out of the QR's quiet zone (4 modules)


def test_card_rejects_missing_payload():
    with pytest.raises(ValueError):
        render_card(replace(CARD, qr_payload=""))


# --- QR payload --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [CODE, "D-N41ZZZZZ", "X-N39ABCDE", "3-A12345AB"])
def test_payload_round_trips(code):
    payload = qr_payload(code)
    assert payload == f"NRMM:1:{code}"
    assert parse_qr_payload(payload) == code


def test_payload_normalizes_case_and_accepts_a_bare_code():
    assert qr_payload(" 4-n01a7k2p ") == "NRMM:1:4-N01A7K2P"
    assert parse_qr_payload("nrmm:1:4-n01a7k2p") == CODE
    assert parse_qr_payload("4-n01a7k2p") == CODE
    assert parse_qr_payload(" 4-N01A7K2P\n") == CODE


@pytest.mark.parametrize(
    "junk",
    ["", "   ", "NRMM:9:X", "NRMM:1:", "NRMM:", "NRMM:1:4-N01 A7K2P", "NRMM:1:A:B", "XYZ:1:4-N01A7K2P",
     "hello world", "https://example.org/4-N01A7K2P", "wxp://f2f0abc"],
)
def test_parse_rejects_junk(junk):
    assert parse_qr_payload(junk) is None


def test_payload_rejects_non_codes():
    for bad in ["", " ", "4-N01 A7K2P", "A:B"]:
        with pytest.raises(ValueError):
            qr_payload(bad)
