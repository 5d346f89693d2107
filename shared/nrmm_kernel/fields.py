"""Pydantic field types every service's request models share, each with its stable error type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from .identity import mobile_problem, normalize_uscc, uscc_problem
from .reference import DISTRICTS

# paging: a page further than this is a 422, never a database error (a skip beyond 2^63-1 was a 500)
MAX_SKIP = 100_000
Skip = Annotated[int, Query(ge=0, le=MAX_SKIP, description=f"results to pass over, at most {MAX_SKIP}")]


def _district(value: str) -> str:
    if value not in DISTRICTS:  # rule C5 district table
        raise PydanticCustomError("unknown_district", "区县代码不存在 (01-41)")
    return value


def _mobile(value: str) -> str:
    value = value.strip()
    if mobile_problem(value):
        raise PydanticCustomError("invalid_mobile", "手机号码无效")
    return value


def _credit_code(value: str) -> str:
    value = normalize_uscc(value)
    problem = uscc_problem(value)
    if problem:
        raise PydanticCustomError("invalid_credit_code", f"统一社会信用代码无效 ({problem})")
    return value


DistrictCode = Annotated[str, StringConstraints(max_length=2), AfterValidator(_district)]
MobileNumber = Annotated[str, BeforeValidator(str), StringConstraints(max_length=20), AfterValidator(_mobile)]
CreditCode = Annotated[str, StringConstraints(max_length=40), AfterValidator(_credit_code)]

# Every text a request can carry into an event is bounded: an oversized one is a 422 naming its field, never a
# commit the broker refuses. Short identifiers (upload ids, stages, statuses, filters) and free text:
ShortText = Annotated[str, StringConstraints(max_length=64)]
Sentence = Annotated[str, StringConstraints(max_length=500)]
# query filters (a district code, a status or category, a code): bounded like every other input
DistrictFilter = Annotated[str | None, Query(max_length=2)]
TextFilter = Annotated[str | None, Query(max_length=40)]
CodeFilter = Annotated[str | None, Query(max_length=100)]
