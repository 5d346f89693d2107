"""The floor for the gate benchmark: a bare FastAPI endpoint that parses the same request, checks the same bearer
token with the same dependency as the sites service (the signing key from NRMM_JWT_SECRET), and answers."""

import os

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from nrmm_kernel.auth import Principal, TokenVerifier, require_role
from nrmm_kernel.reference import Role

app = FastAPI()
app.state.token_verifier = TokenVerifier(os.environ.get("NRMM_JWT_SECRET", "bench-secret-" + "x" * 32),
                                         issuer="nrmm-gateway", audience="nrmm")


class Period(BaseModel):
    starts_on: str
    ends_on: str


class Entry(BaseModel):
    code: str
    working_period: Period
    machine_type: str
    emission_stage: str


@app.post("/entries", status_code=201)
async def enter(entry: Entry, who: Principal = Depends(require_role(Role.SITE_ADMIN, Role.ADMIN))):
    return {"admitted": True, "colour": "blue", "code": entry.code}
