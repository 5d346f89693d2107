"""The environmental code (环保编码), rule C5, for every province: parse, validate, compose.

    {stage}-{province}{district 2}{serial 5}      e.g. 4-N01A7K2P

stage: "1" (China I and earlier), "2", "3", "4" (China II-IV), "D" (electric), "X" (undetermined).
Serial alphabet: digits and the 24 capital letters without I and O. Chongqing's province character
is "N" and its district characters come from the district table; other provinces' codes are valid
here too (rule C3): their province character is a letter of the national table (the serial alphabet's 24
letters: provinces are numbered by letters, never by digits), the rest is checked for shape only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .reference import DISTRICTS

STAGES = "1234DX"
SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # rule C5: no I, no O
CHONGQING = "N"
# rule C5: the first serial character is the province, "in the order of provinces, autonomous regions and
# municipalities": a letter (no I, no O). The regulation names only Chongqing's (N).
PROVINCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_LENGTH = 5

_CHAR = "[0-9A-HJ-NP-Z]"
CODE_PATTERN = re.compile(rf"^([1-4DX])-({_CHAR})({_CHAR}{{2}})({_CHAR}{{{SERIAL_LENGTH}}})$")
CHONGQING_PATTERN = r"^[1-4DX]-N(0[1-9]|[1-3][0-9]|4[01])[0-9A-HJ-NP-Z]{5}$"

STAGE_NAMES = {"1": "国一及以下", "2": "国二", "3": "国三", "4": "国四", "D": "电动", "X": "无法确定"}


@dataclass(frozen=True)
class EnvironmentalCode:
    stage: str
    province: str
    district: str
    serial: str

    @property
    def text(self) -> str:
        return f"{self.stage}-{self.province}{self.district}{self.serial}"

    @property
    def machine_key(self) -> str:
        """The machine's identity across stage corrections (rule C7): everything but the stage."""
        return f"{self.province}{self.district}{self.serial}"

    @property
    def is_chongqing(self) -> bool:
        return self.province == CHONGQING

    def with_stage(self, stage: str) -> EnvironmentalCode:
        if stage not in STAGES:
            raise ValueError(f"unknown emission stage {stage!r}")
        return EnvironmentalCode(stage, self.province, self.district, self.serial)

    def __str__(self) -> str:
        return self.text


class MalformedCode(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def normalize(text: str) -> str:
    return text.strip().upper()


def parse_code(text: str) -> EnvironmentalCode:
    """Parse any province's code; raises MalformedCode with a reason a scanner can show."""
    value = normalize(text or "")
    match = CODE_PATTERN.match(value)
    if match is None:
        raise _first_fault(value)
    code = EnvironmentalCode(*match.groups())
    if code.province not in PROVINCE_LETTERS:  # rule C5: a digit is no province
        raise MalformedCode("province", f"省份代码 {code.province} 无效，须为字母 (the province is a letter)")
    if code.is_chongqing and code.district not in DISTRICTS:
        raise MalformedCode("district", f"区县代码 {code.district} 不存在 (unknown Chongqing district)")
    return code


def _first_fault(value: str) -> MalformedCode:
    """What is wrong with a code that does not have the shape, said of its first faulty part, left to right."""
    example = "如 4-N01A7K2P (e.g. 4-N01A7K2P)"
    if not value:
        return MalformedCode("format", f"请输入环保编码，{example}")
    if value[0] not in STAGES:
        return MalformedCode("stage", f"第 1 位是排放阶段，须为 1-4、D 或 X，而不是“{value[0]}”，{example} "
                                      f"(the first character is the emission stage: 1-4, D or X, not {value[0]!r})")
    if value[1:2] != "-":
        return MalformedCode("format", f"第 2 位须为连字符“-”，{example} (the second character must be '-')")
    rest = value[2:]
    if len(rest) != 1 + 2 + SERIAL_LENGTH:
        return MalformedCode("format", f"“-”后须为 8 位（省份 1 位、区县 2 位、序号 5 位），而不是 {len(rest)} 位，"
                                       f"{example} (8 characters after '-': province, district 2, serial 5; "
                                       f"got {len(rest)})")
    for ch in rest:
        if ch in "IO":
            return MalformedCode("letter_i_or_o", f"编码不用字母 I 和 O，“{ch}”应为数字 {'1' if ch == 'I' else '0'} "
                                                  f"(codes use no I or O: read {ch!r} as a digit)")
        if ch not in SERIAL_ALPHABET:
            return MalformedCode("format", f"“{ch}”不能出现在编码中：只用数字和大写字母 (only digits and capital "
                                           f"letters, not {ch!r})")
    return MalformedCode("format", f"环保编码格式不正确，{example}")


def compose_chongqing(stage: str, district: str, serial: str) -> EnvironmentalCode:
    """A Chongqing code from its parts (rule C5); raises ValueError on any bad part."""
    if stage not in STAGES:
        raise ValueError(f"unknown emission stage {stage!r}")
    if district not in DISTRICTS:
        raise ValueError(f"unknown district {district!r}")
    if len(serial) != SERIAL_LENGTH or any(c not in SERIAL_ALPHABET for c in serial):
        raise ValueError(f"bad serial {serial!r}")
    return EnvironmentalCode(stage, CHONGQING, district, serial)


# --- QR payload of the card (rules P3, E3): what the sites and inspection scanners read ----------------------------

QR_PREFIX = "NRMM"
QR_VERSION = "1"


def qr_payload(code: str) -> str:
    """What the card's QR code holds: ``NRMM:1:<code>`` (prefix, format version, code).

    All of it is in the QR alphanumeric set (digits, capitals, ':' and '-'), which keeps the symbol small."""
    text = code.strip().upper()
    if not text or ":" in text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"not a code: {code!r}")
    return f"{QR_PREFIX}:{QR_VERSION}:{text}"


def parse_qr_payload(payload: str) -> str | None:
    """The code in a scanned payload, upper case; None when the payload is not ours.

    Accepts ``NRMM:1:<code>`` and a bare code (typed, or read by a scanner from the plate). The code's own format
    is not checked here (``parse_code`` does that); only that it is non-empty, has no whitespace and no ':'."""
    if not isinstance(payload, str):
        return None
    text = payload.strip().upper()
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        return None
    if ":" not in text:
        return text
    prefix, _, rest = text.partition(":")
    version, _, code = rest.partition(":")
    if prefix != QR_PREFIX or version != QR_VERSION or not code or ":" in code:
        return None
    return code
