"""The request guard's pure parts: which characters are controls, and where in a body they are."""

from nrmm_kernel.guard import control_in, control_in_form, has_control


def test_c0_controls_but_tab_newline_and_carriage_return():
    assert all(has_control(chr(c)) for c in range(0x20) if chr(c) not in "\t\n\r")
    assert has_control("\x7f")
    assert not any(has_control(c) for c in "\t\n\r 中文 é")


def test_the_path_of_the_first_control_in_a_json_value():
    assert control_in({"a": {"b": ["ok", "x\x00"]}}) == "a.b.1"
    assert control_in({"a\x00": 1}) == "a\x00"
    assert control_in("\x01") == "body"
    assert control_in({"a": "ok", "b": 3, "c": None}) is None


def test_the_name_of_a_form_or_query_field_with_a_control():
    assert control_in_form("district=01%00&x=1") == "district"
    assert control_in_form("district=01&status=issued") is None
