"""Before calling a Chongqing code unknown, the inspection service asks the registry once: its copy of the codes may
be a moment behind (rule E3's lesson). In-process against the real database; the registry is a stub or nothing."""

import pytest

from inspection.app.machines import Facts, RegistryWord
from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import AppError
from tests.platform import free_port

VERIFIER = TokenVerifier("k" * 40, issuer="nrmm-gateway", audience="nrmm")


class Stub(RegistryWord):
    def __init__(self, answer):
        self.answer = answer

    async def knows(self, code: str):
        return self.answer


@pytest.mark.parametrize("answer, status, code", [
    (True, 409, "code_not_yet_known"), (False, 404, "unknown_code"), (None, 503, "registry_unreachable")])
async def test_the_registry_is_asked_before_a_code_is_called_unknown(db, answer, status, code):
    with pytest.raises(AppError) as refused:
        await Facts(db, Stub(answer)).scan(None, "4-N04ZZZZZ")
    assert (refused.value.status, refused.value.code, refused.value.field) == (status, code, "code")


async def test_a_registry_that_does_not_answer_is_unreachable_not_unknown(db):
    word = RegistryWord(f"http://127.0.0.1:{free_port()}", VERIFIER, timeout=1.0)
    assert await word.knows("4-N04ZZZZZ") is None
    other_province = await Facts(db, word).scan("NRMM:1:3-A12B3C4D", None)  # never asked: valid as it is (C3)
    assert other_province.record is None and other_province.stage == "3"
