"""Every command handler of the registry, without infrastructure: the in-memory event store (which passes the real
store's contract tests) and PyMongo's async API over mongomock for the write-side indexes. The same handlers run
over HTTP against the real database and broker in the ``integration`` tests beside this file."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from starlette.datastructures import UploadFile

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import ConcurrencyError, Conflict, Forbidden, ValidationFailed
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.reference import Department, Role
from registry.app.commands import RegistryCommands
from registry.domain.model import MachineInfo, Registrant, UploadKind
from registry.domain.status import Status
from tests.memory_db import MemoryDatabase
from tests.registry.fixtures import JPEG, PDF, TODAY, machine, registrant, uploads

OWNER = Principal(account_id="owner-1", role=Role.OWNER)
BUYER = Principal(account_id="owner-2", role=Role.OWNER)
REVIEWER = Principal(account_id="rev-1", role=Role.REVIEWER, department=Department.ECOLOGY, district="01")
OTHER_DISTRICT = Principal(account_id="rev-9", role=Role.REVIEWER, department=Department.ECOLOGY, district="05")


class Owners:
    """The gateway's word on whose a mobile is (rule C6), as the registry asks it."""

    async def owner_account(self, mobile: str) -> str:
        if mobile != "13900000002":
            raise ValidationFailed("no owner account", code="new_owner_not_found", field="new_owner_mobile")
        return BUYER.account_id


@pytest.fixture
async def handlers() -> RegistryCommands:
    db = MemoryDatabase()
    commands = RegistryCommands(db, InMemoryEventStore(), today=lambda: TODAY, owners=Owners())
    await commands.identities.ensure_indexes()
    for account in (OWNER, BUYER):  # the owners' uploads, as POST /uploads leaves them
        await db["uploads.files"].insert_many([
            {"_id": upload_id, "metadata": {"owner_account_id": account.account_id, "kind": kind}}
            for kind, ids in uploads(prefix=account.account_id).items() for upload_id in ids])
    return commands


async def apply(handlers: RegistryCommands, who: Principal = OWNER, key: str | None = None, **machine_overrides):
    return await handlers.apply(who, Registrant(**registrant()), MachineInfo(**machine(**machine_overrides)),
                                uploads(prefix=who.account_id), request_key=key)


async def issued(handlers: RegistryCommands, **machine_overrides):
    record = await apply(handlers, **machine_overrides)
    return await handlers.approve(REVIEWER, record.id)


async def test_apply_reject_amend_approve(handlers):
    record = await apply(handlers)
    assert record.status is Status.SUBMITTED and record.version == 1 and record.pending == []
    with pytest.raises(Forbidden):
        await handlers.reject(OTHER_DISTRICT, record.id, ["照片不清晰"])  # another district's reviewer
    with pytest.raises(ConcurrencyError):
        await handlers.reject(REVIEWER, record.id, ["照片不清晰"], expected_version=0)  # decided on a stale view
    rejected = await handlers.reject(REVIEWER, record.id, ["照片不清晰"], expected_version=1)
    assert rejected.status is Status.REJECTED
    amended = await handlers.amend(OWNER, record.id, Registrant(**registrant()), MachineInfo(**machine()),
                                   uploads(prefix=OWNER.account_id))
    assert amended.status is Status.SUBMITTED and amended.version == 3
    approved = await handlers.approve(REVIEWER, record.id)
    assert approved.status is Status.ISSUED and approved.code is not None and approved.code[3:5] == "01"
    assert (await handlers.load_by_code(approved.code)).id == record.id  # the code index, at once


async def test_an_application_sent_twice_gets_its_first_answer_and_a_second_machine_claim_is_refused(handlers):
    first = await apply(handlers, key="k-1")
    again = await apply(handlers, key="k-1")
    assert again.id == first.id and again.version == 1
    with pytest.raises(Conflict) as refused:  # rule C1: one machine, one code
        await apply(handlers, who=BUYER)
    assert refused.value.code == "machine_already_registered"
    with pytest.raises(ValidationFailed) as foreign:  # another owner's uploads
        await handlers.apply(BUYER, Registrant(**registrant()), MachineInfo(**machine(factory_serial="X-2")),
                             uploads(prefix=OWNER.account_id))
    assert foreign.value.code == "unknown_upload"


async def test_owner_change_requested_withdrawn_requested_again_and_accepted(handlers):
    record = await issued(handlers)
    with pytest.raises(ValidationFailed) as unknown:
        await handlers.request_owner_change(OWNER, record.code, "13900000009", TODAY)
    assert unknown.value.code == "new_owner_not_found"
    await handlers.request_owner_change(OWNER, record.code, "13900000002", TODAY - timedelta(days=3))
    withdrawn = await handlers.withdraw_owner_change(OWNER, record.code)
    assert withdrawn.pending_owner_change is None
    await handlers.request_owner_change(OWNER, record.code, "13900000002", TODAY - timedelta(days=3))
    with pytest.raises(Forbidden):
        await handlers.accept_owner_change(OWNER, record.code, Registrant(**registrant()))  # not the new owner
    moved = await handlers.accept_owner_change(BUYER, record.code, Registrant(**registrant(name="李四")))
    assert moved.owner_account_id == BUYER.account_id and moved.registrant.name == "李四"


async def test_plate_reissue_correction_and_cancellation(handlers):
    record = await issued(handlers)
    await handlers.request_plate_reissue(OWNER, record.code, TODAY, "标牌破损")
    with pytest.raises(Forbidden):
        await handlers.reissue_plate(OWNER, record.code)  # staff only
    reissued = await handlers.reissue_plate(REVIEWER, record.code)
    assert reissued.reissue_count == 1 and not reissued.reissue_requested
    corrected = await handlers.correct(OWNER, record.code, MachineInfo(**machine(stage="3")))
    assert corrected.status is Status.CORRECTION_REVIEW  # the stage decides the code: re-reviewed
    recoded = await handlers.approve(REVIEWER, record.id)
    assert recoded.code.startswith("3-") and recoded.code[1:] == record.code[1:]  # same serial, new stage
    cancelled = await handlers.cancel(OWNER, recoded.code, "scrapped", TODAY, None)
    assert cancelled.status is Status.CANCELLED
    with pytest.raises(Conflict):
        await handlers.request_plate_reissue(OWNER, recoded.code, TODAY, "again")


async def test_another_provinces_machine_is_declared_once_and_confirmed_by_the_bureau(handlers):
    declared = await handlers.declare_external(OWNER, "4-Y12ABCDE", "excavator")  # 四川 (Y)
    assert declared["created"] is True
    again = await handlers.declare_external(REVIEWER, "4-Y12ABCDE", "excavator")
    assert again["created"] is False
    history = await handlers.store.read_stream("external-4-Y12ABCDE")
    assert [e.type.rsplit(".", 1)[-1] for e in history] == ["ExternalMachineDeclared", "ExternalMachineConfirmed"]
    with pytest.raises(ValidationFailed) as chongqing:
        await handlers.declare_external(OWNER, "4-N01ABCDE", None)
    assert chongqing.value.code == "chongqing_code"


class Bucket:
    """GridFS in memory: the file's document where GridFS keeps it, and its bytes."""

    def __init__(self, files) -> None:
        self.files, self.data = files, {}

    async def upload_from_stream_with_id(self, file_id: str, filename: str, data: bytes, metadata: dict) -> None:
        await self.files.insert_one({"_id": file_id, "filename": filename, "length": len(data), "metadata": metadata})
        self.data[file_id] = data


async def test_an_upload_is_decoded_whole_and_kept_as_what_it_is(handlers):
    store = handlers.uploads
    store._stored._bucket = Bucket(handlers.db["uploads.files"])

    def sent(data: bytes) -> UploadFile:
        return UploadFile(io.BytesIO(data), filename="../../etc/passwd")

    saved = await store.save(OWNER.account_id, UploadKind.PHOTO_FRONT, sent(JPEG))
    assert saved["content_type"] == "image/jpeg" and saved["size"] == len(JPEG)
    assert (await store.describe(saved["upload_id"]))["owner_account_id"] == OWNER.account_id
    kept = await handlers.db["uploads.files"].find_one({"_id": saved["upload_id"]})
    assert "passwd" not in kept["filename"]  # the client's file name is not kept
    refusals = ((PDF, UploadKind.PHOTO_FRONT, "photo_must_be_image"), (b"", UploadKind.IDENTITY_PROOF, "empty_file"),
                (JPEG + b"<html>", UploadKind.IDENTITY_PROOF, "trailing_data"))
    for data, kind, code in refusals:
        with pytest.raises(ValidationFailed) as refused:
            await store.save(OWNER.account_id, kind, sent(data))
        assert refused.value.code == code
