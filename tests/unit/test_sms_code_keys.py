"""SMS codes are stored keyed with a server secret (#14): the stored hash cannot be reversed by trying six digits
without the key, and the right code still matches."""

from __future__ import annotations

from gateway.app.sms_codes import code_key, keyed
from gateway.domain import rules
from gateway.settings import Settings


def test_a_stored_code_hash_is_keyed_by_the_server_secret():
    key = code_key(Settings(jwt_secret="j" * 40))
    assert key is not None and code_key(Settings(jwt_secret=None)) is None
    stored = rules.hash_code(keyed(key, "code-1", "042042"), "code-1")
    assert stored != rules.hash_code("042042", "code-1")  # the unkeyed hash of the code is not what is stored
    assert rules.code_matches(keyed(key, "code-1", "042042"), "code-1", stored)
    other = code_key(Settings(jwt_secret="k" * 40))
    assert other is not None
    assert not rules.code_matches(keyed(other, "code-1", "042042"), "code-1", stored)
    assert code_key(Settings(jwt_secret="j" * 40, sms_code_secret="s" * 32)) == b"s" * 32
