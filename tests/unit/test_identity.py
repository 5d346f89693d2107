from datetime import date

import pytest

import nrmm_kernel.identity as identity
from nrmm_kernel.identity import (
    id_card_check_char,
    id_card_problem,
    mask_id_number,
    mask_mobile,
    mobile_problem,
    normalize_id_card,
    normalize_uscc,
    uscc_check_char,
    uscc_problem,
)

ID_CARD = "11010519491231002X"
USCC = "91350100M000100Y43"


def id_card(first17: str) -> str:
    return first17 + id_card_check_char(first17)


# --- GB 11643-1999 resident ID card -------------------------------------------------------------------------------


def test_published_id_card_example_validates():
    # by hand: digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 x weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2; "10X98765432"[2] = "X"
    assert id_card_check_char(ID_CARD[:17]) == "X"
    assert id_card_problem(ID_CARD) is None


def test_check_char_maps_each_remainder():
    # by hand, from the 167 of ID_CARD:
    # last digit 2 -> 1 (weight 2): 165, mod 11 = 0 -> "1"
    assert id_card_check_char("11010519491231001") == "1"
    # 8th digit 9 -> 8 (weight 1): 166, mod 11 = 1 -> "0"
    assert id_card_check_char("11010518491231002") == "0"
    # last digit 2 -> 0 (weight 2): 163, mod 11 = 9 -> "3"
    assert id_card_check_char("11010519491231000") == "3"


def test_check_char_satisfies_iso_7064_mod_11_2_for_every_remainder():
    # ISO 7064 MOD 11-2 definition: over all 18 characters, weights 2^(17-i) mod 11 (the check has weight 1, X = 10),
    # the weighted sum is 1 mod 11
    weights = [pow(2, 17 - i, 11) for i in range(18)]
    remainders = set()
    for n in range(100):
        first17 = f"110105194912310{n:02d}"
        check = id_card_check_char(first17)
        values = [int(c) for c in first17] + [10 if check == "X" else int(check)]
        assert sum(v * w for v, w in zip(values, weights, strict=True)) % 11 == 1
        remainders.add(check)
    assert len(remainders) == 11


def test_lowercase_x_is_accepted_and_normalized():
    assert id_card_problem("11010519491231002x") is None
    assert normalize_id_card(" 110105 19491231 002x ") == ID_CARD


@pytest.mark.parametrize("value", [
    "11010519491231002",  # 17 characters
    "11010519491231002X0",  # 19 characters
    "",
])
def test_id_card_length(value):
    assert id_card_problem(value) == "length"


@pytest.mark.parametrize("value", [
    "1101051949123A002X",  # letter in the middle
    "11010519491231002Y",  # last character neither digit nor X
    ID_CARD[:14] + "²" + ID_CARD[15:],  # superscript: str.isdigit() is True but int() raises
    ID_CARD[:15] + "０" + ID_CARD[16:],  # full-width zero: int() accepts it, the check digit would still match
])
def test_id_card_characters(value):
    assert len(value) == 18
    assert id_card_problem(value) == "characters"


@pytest.mark.parametrize("province", [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83", "91",
])
def test_every_province_code_is_accepted(province):
    assert id_card_problem(id_card(province + "010519491231002")) is None


@pytest.mark.parametrize("province", [
    "00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66", "70", "72", "80", "90",
    "92", "99",
])
def test_unknown_province_code_is_a_region_problem(province):
    # correct check character, so only the region is wrong
    assert id_card_problem(id_card(province + "010519491231002")) == "region"


@pytest.mark.parametrize("first17", [
    "11010519990230002",  # 30 February
    "11010519991301002",  # month 13
    "11010519990000002",  # month and day 00
    "11010518991231002",  # 1899-12-31, before 1900-01-01
    "11010520991231002",  # far future
])
def test_birth_date_problems(first17):
    assert id_card_problem(id_card(first17)) == "birth_date"


def test_birth_date_bounds():
    assert id_card_problem(id_card("11010519000101002")) is None  # 1900-01-01 is the earliest accepted
    born_2024_06_02 = id_card("11010520240602002")
    assert id_card_problem(born_2024_06_02, today=date(2024, 6, 2)) is None
    assert id_card_problem(born_2024_06_02, today=date(2024, 6, 1)) == "birth_date"


def test_future_is_judged_by_the_chongqing_calendar(monkeypatch):
    monkeypatch.setattr(identity, "today_in_chongqing", lambda: date(2024, 6, 1))
    assert id_card_problem(id_card("11010520240601002")) is None
    assert id_card_problem(id_card("11010520240602002")) == "birth_date"


@pytest.mark.parametrize("last", ["0", "1", "9"])
def test_wrong_check_digit(last):
    assert id_card_problem(ID_CARD[:17] + last) == "check_digit"


def test_id_card_check_char_rejects_bad_input():
    with pytest.raises(ValueError):
        id_card_check_char("1101051949123100")  # 16 digits
    with pytest.raises(ValueError):
        id_card_check_char("1101051949123100A")


# --- GB 32100-2015 unified social credit code ---------------------------------------------------------------------


def test_published_uscc_example_validates():
    # by hand: values 9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4
    # x weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
    # = 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31 - 28 = 3 -> "3"
    assert uscc_check_char(USCC[:17]) == "3"
    assert uscc_problem(USCC) is None


def test_uscc_letter_check_char():
    # by hand: 9x1 + 1x3 + 5x9 + M=21x20 + A=10x29 + 5x25 + U=27x13 = 9+3+45+420+290+125+351 = 1243
    # 1243 mod 31 = 3; 31 - 3 = 28; alphabet index 28 = "W" (it would be "S" if I and O were not skipped)
    assert uscc_check_char("91500000MA5U00000") == "W"
    assert uscc_problem("91500000MA5U00000W") is None


def test_uscc_check_value_31_maps_to_0():
    # weighted sum 0: 31 - 0 = 31 -> "0"
    assert uscc_check_char("0" * 17) == "0"
    assert uscc_problem("0" * 18) is None


def test_uscc_lowercase_is_accepted_and_normalized():
    assert uscc_problem("91350100m000100y43") is None
    assert normalize_uscc(" 9135 0100m000100y43 ") == USCC


@pytest.mark.parametrize("value", [USCC[:17], USCC + "0", ""])
def test_uscc_length(value):
    assert uscc_problem(value) == "length"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_uscc_letters_outside_the_alphabet(letter):
    assert uscc_problem(USCC[:8] + letter + USCC[9:]) == "characters"
    assert uscc_problem(USCC[:17] + letter) == "characters"


def test_uscc_punctuation_is_a_character_problem():
    assert uscc_problem(USCC[:8] + "-" + USCC[9:]) == "characters"


@pytest.mark.parametrize("last", ["0", "4", "Y"])
def test_uscc_wrong_check_digit(last):
    assert uscc_problem(USCC[:17] + last) == "check_digit"


def test_uscc_check_char_rejects_bad_input():
    with pytest.raises(ValueError):
        uscc_check_char(USCC[:16])
    with pytest.raises(ValueError):
        uscc_check_char(USCC[:8] + "I" + USCC[9:17])


# --- mobile ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13812345678", "14512345678", "19912345678"])
def test_valid_mobiles(value):
    assert mobile_problem(value) is None


@pytest.mark.parametrize("value", [
    "12812345678",  # second digit 2
    "10012345678",  # second digit 0
    "23812345678",  # does not start with 1
    "1381234567",  # 10 digits
    "138123456789",  # 12 digits
    "1381234567a",
    "+8613812345678",
    "13812345678\n",  # re.match with $ would accept a trailing newline
    " 13812345678",
    "138１2345678",  # full-width digit: \d would accept it
    "",
])
def test_invalid_mobiles(value):
    assert mobile_problem(value) == "format"


# --- masking --------------------------------------------------------------------------------------------------------


def test_mask_id_numbers():
    assert mask_id_number(ID_CARD) == "110105********002X"
    assert mask_id_number(USCC) == "913501********0Y43"
    assert mask_id_number("110105491231002") == "110********1002"  # 15 characters: first 3 + last 4
    assert mask_id_number("1234567") == "*******"  # too short to reveal anything


def test_mask_mobile():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("1381234567") == "**********"
    assert mask_mobile("") == ""
