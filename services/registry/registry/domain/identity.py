"""Registrant identity numbers: PRC ID card (GB 11643-1999) and unified social credit code (GB 32100-2015)."""

from __future__ import annotations

import re
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: remainder -> check character
PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "91",
}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_id_card(value: str) -> str:
    return "".join(str(value).split()).upper()


def normalize_uscc(value: str) -> str:
    return "".join(str(value).split()).upper()


def id_card_check_char(first17: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_card_problem(value: str, today: date | None = None) -> str | None:
    """None if ``value`` is a valid 18-character ID card number (GB 11643-1999), else the reason."""
    value = normalize_id_card(value)
    if len(value) != 18:
        return "length"
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "characters"
    if value[:2] not in PROVINCES:
        return "region"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    if born < date(1900, 1, 1) or born > (today or date.today()):
        return "birth_date"
    if id_card_check_char(value[:17]) != value[17]:
        return "check_digit"
    return None


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """None if ``value`` is a valid unified social credit code (GB 32100-2015), else the reason."""
    value = normalize_uscc(value)
    if len(value) != 18:
        return "length"
    if any(c not in USCC_ALPHABET for c in value):
        return "characters"
    if uscc_check_char(value[:17]) != value[17]:
        return "check_digit"
    return None


def mobile_problem(value: str) -> str | None:
    return None if MOBILE.match(str(value).strip()) else "format"


def mask_id_number(value: str) -> str:
    keep = 6 if len(value) == 18 else 3
    if len(value) <= keep + 4:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - keep - 4) + value[-4:]


def mask_mobile(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)
