"""The floor for the gate benchmark: a bare FastAPI endpoint that parses the same request and answers."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Period(BaseModel):
    starts_on: str
    ends_on: str


class Entry(BaseModel):
    code: str
    working_period: Period


@app.post("/entries", status_code=201)
async def enter(entry: Entry):
    return {"admitted": True, "colour": "blue", "code": entry.code}
