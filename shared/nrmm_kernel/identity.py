"""Registrant identity numbers: PRC ID card (GB 11643-1999) and unified social credit code (GB 32100-2015).

Pure functions. A ``*_problem`` function returns None for a valid value, else a short machine-readable reason.
Only ASCII digits count as digits: ``str.isdigit`` and ``\\d`` also accept full-width and other Unicode digits.
"""

from __future__ import annotations

import re
from datetime import date

from .clock import today_in_chongqing

DIGITS = frozenset("0123456789")

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: remainder 0..10 -> check character
ID_EARLIEST_BIRTH = date(1900, 1, 1)
# province-level prefixes of the GB/T 2260 region code (83: residence permits of Taiwan residents; 91: abroad)
PROVINCES = frozenset({
    "11", "12", "13", "14", "15",
    "21", "22", "23",
    "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46",
    "50", "51", "52", "53", "54",
    "61", "62", "63", "64", "65",
    "71", "81", "82", "83", "91",
})

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: 31 characters, no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

MOBILE = re.compile(r"1[3-9][0-9]{9}")  # mainland China mobile number, used with fullmatch


def normalize_id_card(value: str) -> str:
    """GB 11643 ID card number as stored: whitespace removed, upper case (so a final 'x' becomes 'X')."""
    return "".join(str(value).split()).upper()


def normalize_uscc(value: str) -> str:
    """GB 32100 unified social credit code as stored: whitespace removed, upper case."""
    return "".join(str(value).split()).upper()


def id_card_check_char(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    if len(first17) != 17 or not set(first17) <= DIGITS:
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_card_problem(value: str, today: date | None = None) -> str | None:
    """None if ``value`` is a valid 18-character resident ID card number (GB 11643-1999), else the reason.

    Reasons: "length", "characters", "region", "birth_date", "check_digit". ``today`` (default: today in
    Asia/Shanghai) is the latest birth date accepted.
    """
    value = normalize_id_card(value)
    if len(value) != 18:
        return "length"
    if not set(value[:17]) <= DIGITS or value[17] not in DIGITS | {"X"}:
        return "characters"
    if value[:2] not in PROVINCES:
        return "region"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if born < ID_EARLIEST_BIRTH or born > (today or today_in_chongqing()):
        return "birth_date"
    if id_card_check_char(value[:17]) != value[17]:
        return "check_digit"
    return None


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters: 31 - (weighted sum mod 31), 31 -> '0'."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"expected 17 characters of {USCC_ALPHABET}, got {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """None if ``value`` is a valid unified social credit code (GB 32100-2015), else the reason.

    Reasons: "length", "characters", "check_digit". Lower case is accepted.
    """
    value = normalize_uscc(value)
    if len(value) != 18:
        return "length"
    if any(c not in USCC_ALPHABET for c in value):
        return "characters"
    if uscc_check_char(value[:17]) != value[17]:
        return "check_digit"
    return None


def mobile_problem(value: str) -> str | None:
    """None if ``value`` is exactly a mainland China mobile number (11 ASCII digits, 1[3-9]...), else "format"."""
    return None if MOBILE.fullmatch(str(value)) else "format"


def mask_id_number(value: str) -> str:
    """Mask an ID card number or credit code for display: first 6 + last 4 of 18 characters, else first 3 + last 4."""
    keep = 6 if len(value) == 18 else 3
    if len(value) <= keep + 4:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - keep - 4) + value[-4:]


def mask_mobile(value: str) -> str:
    """Mask an 11-digit mobile number as 138****5678; anything else is fully masked."""
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)
