"""The registry API's request bodies: every field bounded, unknown fields refused (extra="forbid")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.fields import MobileNumber, Sentence, ShortText

from ..domain.model import Category, MachineInfo, PlainRegistrant, UploadKind


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationBody(Body):
    registrant: PlainRegistrant
    machine: MachineInfo
    uploads: dict[UploadKind, Annotated[list[ShortText], Field(max_length=20)]] = Field(
        max_length=len(UploadKind),
        description="upload ids by kind; required: identity_proof, machine_nameplate, engine_nameplate, "
                    "environmental_label, conformity_certificate, photo_front, photo_back, photo_left, photo_right")

    def upload_map(self) -> dict[str, list[str]]:
        return {kind.value: ids for kind, ids in self.uploads.items()}


class Decision(Body):
    expected_version: int | None = Field(default=None, ge=1, description="the record version the reviewer saw")


class Rejection(Decision):
    reasons: list[Sentence] = Field(min_length=1, max_length=20)


class OwnerChange(Body):
    new_owner_mobile: MobileNumber = Field(description="the mobile the new owner's owner account is registered with")
    transferred_on: date = Field(description="when the machine changed hands; rule C6 counts 30 days from it")


class OwnerChangeAcceptance(Body):
    registrant: PlainRegistrant = Field(description="the new owner, as the record will name them")


class Cancellation(Body):
    reason: Literal["scrapped", "exported", "other"]
    occurred_on: date
    note: str | None = Field(default=None, max_length=500)


class ReissueRequest(Body):
    damaged_on: date
    reason: str = Field(min_length=1, max_length=500)


class Correction(Body):
    machine: MachineInfo


class ExternalDeclaration(Body):
    code: str = Field(min_length=10, max_length=10)
    category: Category | None = None
