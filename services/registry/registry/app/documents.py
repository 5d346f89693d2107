"""The code plate (编码标牌, rules P1-P2) and the information card (信息采集卡, rule P3) as PDF, and the QR payload.

Pure functions: no database, no I/O beyond reading the font files shipped in Python packages.

Fonts
- Code text (plate and card): Roboto Bold, an open (Apache 2.0) bold sans whose TrueType file ships in the PyPI
  package ``font-roboto`` and is embedded (subset) in the PDF, so every viewer and printer draws the same glyphs.
  The regulation's font 方正大黑简体 is proprietary. Roboto was picked over the other embeddable open bold sans
  fonts at hand because its digits and capitals share one flat height (1456/2048 em) and none of the serial
  alphabet's characters but Q has a descender (Bitstream Vera / DejaVu Bold drop J 0.27 em below the baseline;
  Source Sans digits are 2.6 % shorter than its capitals).
- Chinese text on the card: WenQuanYi Micro Hei (文泉驿微米黑, Apache 2.0, a Hei/sans face like the regulation's),
  TrueType outlines, from the PyPI package ``paperang-p2-fonts-cjk`` (its .ttc is byte for byte Debian's
  fonts-wqy-microhei 0.2.0-beta), embedded as a subset. reportlab's built-in CID font STSong-Light needs no file
  but is not embedded: a viewer or printer without a Chinese font (pdfium on a bare Linux box, for one) draws
  the labels as nothing. Noto Sans CJK / Source Han Sans on PyPI have CFF outlines, which reportlab cannot embed.

Text height (rule P1: 7 cm)
The character height is the cap height: the height of the flat capitals and digits (H, E, 1, 4, 7, ...), read
from the font file (the top of "H"). Round glyphs (0, 2, C, O, S, ...) overshoot it by 1.4 % above and below, as
in any typeface, and Q's tail descends. The font size is set so that the cap height is exactly 70 mm, and the cap
band (baseline to cap height) is centred vertically on the plate. Horizontally the ink (first glyph's left edge to
the last glyph's right edge) is centred. At 70 mm cap height a code of ten Roboto Bold characters is about 580 mm
wide, more than the plate, so the text is compressed horizontally (PDF horizontal scaling, Tz) until its ink fits
between the side margins; the height is never reduced.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import qrcode
from fontTools.ttLib import TTFont as _FontToolsFont
from qrcode.constants import ERROR_CORRECT_Q
from reportlab.lib.colors import Color, black, white
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from nrmm_kernel.codes import QR_PREFIX, QR_VERSION, parse_qr_payload, qr_payload  # noqa: F401 - re-exported

# --- colours and sizes -------------------------------------------------------------------------------------------

PLATE_BLUE_RGB = (0, 61, 165)  # a standard plate blue; rule P1: white text on blue
PLATE_BLUE = Color(*(c / 255 for c in PLATE_BLUE_RGB))

PLATE_WIDTH_MM = 500.0  # rule P1: 50 cm x 10 cm
PLATE_HEIGHT_MM = 100.0
PLATE_CHAR_HEIGHT_MM = 70.0  # rule P1: character height 7 cm (cap height, see module docstring)
PLATE_SIDE_MARGIN_MM = 25.0  # the ink never comes closer than this to the left or right edge

CARD_WIDTH_MM = 88.0  # rule P3: 8.8 cm x 6 cm
CARD_HEIGHT_MM = 60.0
CARD_QR_SIZE_MM = 32.0  # the symbol without its quiet zone; phones need at least 30 mm
QR_QUIET_MODULES = 4

# --- fonts -------------------------------------------------------------------------------------------------------

CODE_FONT = "NRMM-Roboto-Bold"
CJK_FONT = "NRMM-WenQuanYi-MicroHei"


@dataclass(frozen=True)
class _GlyphMetrics:
    units_per_em: int
    cap_height: int  # top of the flat capital H, in font units
    # per character: (advance width, left side bearing, ink right edge) in font units
    glyphs: dict[str, tuple[int, int, int]]


def _roboto_bold_path() -> Path:
    import font_roboto  # the package's __init__ only lists its files

    return Path(font_roboto.__file__).parent / "files" / "Roboto-Bold.ttf"


def _wqy_microhei_path() -> Path:
    import paperang_p2_fonts_cjk  # a data-only package: the font file and an empty __init__

    return Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(CODE_FONT, str(_roboto_bold_path())))
    pdfmetrics.registerFont(TTFont(CJK_FONT, str(_wqy_microhei_path()), subfontIndex=0))  # 0: proportional, 1: mono


@cache
def _code_font() -> _GlyphMetrics:
    """Glyph metrics of the code font, read with fontTools (reportlab does not expose glyph bounding boxes)."""
    _register_fonts()
    font = _FontToolsFont(str(_roboto_bold_path()), lazy=True)
    cmap = font.getBestCmap()
    glyf = font["glyf"]
    hmtx = font["hmtx"]
    glyphs: dict[str, tuple[int, int, int]] = {}
    for codepoint in range(0x21, 0x7F):  # printable ASCII without space: what a code may hold
        name = cmap.get(codepoint)
        if name is None:
            continue
        glyph = glyf[name]
        advance, _ = hmtx[name]
        if glyph.numberOfContours == 0:
            glyphs[chr(codepoint)] = (advance, 0, advance)
        else:
            glyphs[chr(codepoint)] = (advance, glyph.xMin, glyph.xMax)
    return _GlyphMetrics(units_per_em=font["head"].unitsPerEm, cap_height=glyf[cmap[ord("H")]].yMax, glyphs=glyphs)


def _clean_code(code: str) -> str:
    text = code.strip().upper()
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"not a code: {code!r}")
    return text


# --- plate (rule P1) ---------------------------------------------------------------------------------------------


def _ink_extent(metrics: _GlyphMetrics, text: str) -> tuple[float, float, float]:
    """(advance width, ink left, ink right) of text in font units, the origin at the first glyph's origin."""
    missing = sorted({ch for ch in text if ch not in metrics.glyphs})
    if missing:
        raise ValueError(f"no glyph for {''.join(missing)!r}")
    advance = sum(metrics.glyphs[ch][0] for ch in text)
    last_advance, _, last_right = metrics.glyphs[text[-1]]
    return advance, metrics.glyphs[text[0]][1], advance - last_advance + last_right


def render_plate(code: str) -> bytes:
    """One page, 500 mm x 100 mm, blue, the code in white Roboto Bold of 70 mm cap height, centred (rule P1)."""
    text = _clean_code(code)
    metrics = _code_font()
    width, height = PLATE_WIDTH_MM * mm, PLATE_HEIGHT_MM * mm
    cap = PLATE_CHAR_HEIGHT_MM * mm
    size = cap * metrics.units_per_em / metrics.cap_height  # font size (pt) whose cap height is 70 mm
    unit = size / metrics.units_per_em  # pt per font unit
    _, ink_left, ink_right = _ink_extent(metrics, text)
    natural_ink = (ink_right - ink_left) * unit
    room = width - 2 * PLATE_SIDE_MARGIN_MM * mm
    scale = min(1.0, room / natural_ink)  # compress horizontally, never shrink the height
    x = (width - natural_ink * scale) / 2 - ink_left * unit * scale
    baseline = (height - cap) / 2

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), invariant=True, pageCompression=1)
    c.setTitle(f"环保编码标牌 {text}")
    c.setFillColor(PLATE_BLUE)
    c.rect(0, 0, width, height, stroke=0, fill=1)
    t = c.beginText(x, baseline)
    t.setFont(CODE_FONT, size)
    t.setHorizScale(scale * 100)
    t.setFillColor(white)
    t.textOut(text)
    c.drawText(t)
    c.showPage()
    c.save()
    return buf.getvalue()


# --- card (rule P3) ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardData:
    code: str
    category: str  # display name, e.g. 挖掘机
    brand: str
    model: str
    emission_stage: str  # display name, e.g. 国四
    engine_power_kw: float
    district_name: str  # district of use, e.g. 渝北区
    owner_name: str  # owner's display name
    issue_date: dt.date
    reissue_count: int  # 补发次数: plates reissued so far (rule C8)
    qr_payload: str


def _fit(c: Canvas, text: str, font: str, size: float, min_size: float, room: float) -> tuple[str, float]:
    """Shrink text down to min_size to fit room (pt); past that, cut it and end it with an ellipsis."""
    while size > min_size and pdfmetrics.stringWidth(text, font, size) > room:
        size = max(min_size, size - 0.25)
    if pdfmetrics.stringWidth(text, font, size) <= room:
        return text, size
    while text and pdfmetrics.stringWidth(text + "…", font, size) > room:
        text = text[:-1]
    return text + "…", size


def _format_power(kw: float) -> str:
    return f"{kw:.1f}".removesuffix(".0") + " kW"


def _draw_qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    module = size / n
    c.setFillColor(black)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        col = 0
        while col < n:  # one rectangle per run of dark modules: fewer seams between modules
            if not row[col]:
                col += 1
                continue
            start = col
            while col < n and row[col]:
                col += 1
            c.rect(x + start * module, top, (col - start) * module, module, stroke=0, fill=1)


def render_card(card: CardData) -> bytes:
    """One page, 88 mm x 60 mm: title, the code, the machine's key facts in Chinese, and the QR code (rule P3)."""
    code = _clean_code(card.code)
    if not card.qr_payload:
        raise ValueError("the card needs a QR payload")
    if card.reissue_count < 0:
        raise ValueError("reissue_count must not be negative")
    _register_fonts()
    width, height = CARD_WIDTH_MM * mm, CARD_HEIGHT_MM * mm
    margin = 3.5 * mm

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), invariant=True, pageCompression=1)
    c.setTitle(f"信息采集卡 {code}")
    c.setFillColor(white)
    c.rect(0, 0, width, height, stroke=0, fill=1)

    # title band
    band = 9 * mm
    c.setFillColor(PLATE_BLUE)
    c.rect(0, height - band, width, band, stroke=0, fill=1)
    c.setFillColor(white)
    title, title_size = _fit(c, "重庆市非道路移动机械信息采集卡", CJK_FONT, 10, 7, width - 2 * margin)
    c.setFont(CJK_FONT, title_size)
    c.drawCentredString(width / 2, height - band + (band - title_size * 0.72) / 2, title)

    # QR code bottom right with its quiet zone inside the card
    qr_size = CARD_QR_SIZE_MM * mm
    quiet = 5.2 * mm  # >= 4 modules for the versions this payload needs (module 1.28 mm at 25 modules)
    qr_x = width - quiet - qr_size
    qr_y = quiet
    _draw_qr(c, card.qr_payload, qr_x, qr_y, qr_size)

    # the code, prominent
    c.setFillColor(black)
    code_label = "环保编码"
    c.setFont(CJK_FONT, 7)
    code_baseline = height - band - 8.5 * mm
    c.drawString(margin, code_baseline, code_label)
    label_w = pdfmetrics.stringWidth(code_label, CJK_FONT, 7) + 1.5 * mm
    code_text, code_size = _fit(c, code, CODE_FONT, 19, 12, width - 2 * margin - label_w)
    c.setFont(CODE_FONT, code_size)
    c.drawString(margin + label_w, code_baseline, code_text)

    # facts, left of the QR code's quiet zone
    facts = [
        ("机械类别", card.category),
        ("品牌型号", f"{card.brand} {card.model}".strip()),
        ("排放阶段", card.emission_stage),
        ("发动机功率", _format_power(card.engine_power_kw)),
        ("使用区县", card.district_name),
        ("机械所有人", card.owner_name),
        ("发放日期", card.issue_date.isoformat()),
        ("补发次数", str(card.reissue_count)),
    ]
    size = 6.8
    label_room = pdfmetrics.stringWidth("机械所有人：", CJK_FONT, size)
    column_right = qr_x - quiet - 0.5 * mm
    top = code_baseline - 6.5 * mm
    step = (top - margin) / (len(facts) - 1)
    for i, (label, value) in enumerate(facts):
        y = top - i * step
        c.setFont(CJK_FONT, size)
        c.drawString(margin, y, label + "：")
        shown, shown_size = _fit(c, value or "—", CJK_FONT, size, 5, column_right - margin - label_room)
        c.setFont(CJK_FONT, shown_size)
        c.drawString(margin + label_room, y, shown)

    c.showPage()
    c.save()
    return buf.getvalue()
