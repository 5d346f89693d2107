import pytest

from registry.domain.identity import (
    id_card_check_char,
    id_card_problem,
    mask_id_number,
    mask_mobile,
    mobile_problem,
    uscc_check_char,
    uscc_problem,
)


def test_published_examples_validate():
    # 11010519491231002X: weights give 167, 167 mod 11 = 2 -> "X"
    assert id_card_check_char("11010519491231002") == "X"
    assert id_card_problem("11010519491231002X") is None
    assert id_card_problem("11010519491231002x") is None
    assert uscc_problem("91350100M000100Y43") is None


@pytest.mark.parametrize("value, reason", [
    ("110105194912310021", "check_digit"),
    ("11010519491231002", "length"),
    ("1101051949123A002X", "characters"),
    ("99010519491231002X", "region"),
    ("110105199902300021", "birth_date"),
    ("110105209912310021", "birth_date"),
])
def test_id_card_reasons(value, reason):
    assert id_card_problem(value) == reason


def test_uscc_reasons():
    assert uscc_problem("91350100M000100Y44") == "check_digit"
    assert uscc_problem("91350100M000100Y4") == "length"
    assert uscc_problem("9135010IM000100Y43") == "characters"
    first17 = "91500000MA5U00000"
    assert uscc_problem(first17 + uscc_check_char(first17)) is None


def test_mobile_and_masking():
    assert mobile_problem("13812345678") is None
    assert mobile_problem("12812345678") == "format"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110105********002X"
