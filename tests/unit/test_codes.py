import re

import pytest

from nrmm_kernel.codes import (
    CHONGQING_PATTERN,
    SERIAL_ALPHABET,
    MalformedCode,
    compose_chongqing,
    parse_code,
)


def test_alphabet_is_digits_and_24_letters_without_i_and_o():
    assert len(SERIAL_ALPHABET) == 34
    assert "I" not in SERIAL_ALPHABET and "O" not in SERIAL_ALPHABET


@pytest.mark.parametrize("text, stage, province, district", [
    ("4-N01A7K2P", "4", "N", "01"),
    ("d-n41zzzzz", "D", "N", "41"),  # scanners may deliver lower case
    ("X-N39ABCDE", "X", "N", "39"),
    ("3-A12345AB", "3", "A", "12"),  # another province (rule C3): shape only
])
def test_parse_valid_codes(text, stage, province, district):
    code = parse_code(text)
    assert (code.stage, code.province, code.district) == (stage, province, district)
    assert code.is_chongqing == (province == "N")


@pytest.mark.parametrize("text, reason", [
    ("5-N01A7K2P", "stage"),
    ("4-N01A7K2", "format"),
    ("4N01A7K2P", "format"),
    ("4-N01A7KIP", "letter_i_or_o"),
    ("4-N01A7K0O", "letter_i_or_o"),
    ("4-N42A7K2P", "district"),
    ("4-N00A7K2P", "district"),
    ("", "format"),
    ("3-00123456", "province"),  # issue 13: a digit is no province
    ("3-91234567", "province"),
])
def test_malformed_codes_say_why(text, reason):
    with pytest.raises(MalformedCode) as refused:
        parse_code(text)
    assert refused.value.reason == reason


@pytest.mark.parametrize("text, named", [
    ("hello", "the first character is the emission stage: 1-4, D or X, not 'H'"),  # not "no I or O"
    ("4-N01A7K2", "8 characters after '-': province, district 2, serial 5; got 7"),
    ("4N01A7K2P", "the second character must be '-'"),
    ("4-N01A7KIP", "read 'I' as a digit"),
    ("4-N01A7K#P", "not '#'"),
])
def test_a_malformed_code_is_told_what_is_wrong_with_it(text, named):
    with pytest.raises(MalformedCode) as refused:
        parse_code(text)
    assert named in refused.value.message


def test_composed_chongqing_codes_match_the_published_shape():
    code = compose_chongqing("2", "07", "AB12Z")
    assert code.text == "2-N07AB12Z"
    assert re.match(CHONGQING_PATTERN, code.text)
    assert code.with_stage("4").text == "4-N07AB12Z"
    for bad in [("5", "07", "AB12Z"), ("2", "42", "AB12Z"), ("2", "07", "AB12O"), ("2", "07", "AB12")]:
        with pytest.raises(ValueError):
            compose_chongqing(*bad)


def test_the_gate_reports_the_machine_types_the_registry_registers():  # rules S1, E2
    from nrmm_kernel.reference import MACHINE_TYPES
    from registry.domain.model import Category

    assert list(MACHINE_TYPES) == [c.value for c in Category]
