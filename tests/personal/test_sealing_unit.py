"""The sealing boundary (#14), without infrastructure: the registry's commands decide on plain values, the store
holds ciphertext (hashed as such), the fold opens it again, a forgotten person reads as erased; who may be erased."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import AppError, Conflict
from nrmm_kernel.eventstore import GENESIS_HASH, commit_hash
from nrmm_kernel.forgetting import ERASED_SUBJECTS, Shredder
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.personal import ERASED, SubjectKeys, is_sealed
from nrmm_kernel.reference import Role
from nrmm_kernel.sealing import SealingStore, open_values
from registry.app.commands import RegistryCommands
from registry.app.sealing import SEAL_RULES
from registry.domain.erasure import Tie, check_erasable, tie_of
from registry.domain.events import CodeCancelled, CodeIssued, CodeRequested, OwnerChanged
from registry.domain.machine import MachineRecord
from registry.domain.model import MachineInfo, PlainRegistrant, Registrant
from tests.memory_db import MemoryDatabase
from tests.registry.fixtures import credit_code, id_card, machine, registrant, uploads

TODAY = date(2026, 11, 28)
ID = id_card("19850505", seq="777")
MOBILE = "13987654321"


class Owner:
    def __init__(self, account: str = "owner-p1"):
        self.principal = Principal(account_id=account, role=Role.OWNER)


class AcceptAll:
    async def check_references(self, *_args) -> None: ...


@pytest.fixture
def world():
    db, raw = MemoryDatabase(), InMemoryEventStore()
    keys = SubjectKeys(db)
    store = SealingStore(raw, keys, SEAL_RULES, db)
    commands = RegistryCommands(db, store, today=lambda: TODAY)
    commands.uploads = AcceptAll()
    return db, raw, keys, store, commands


async def apply(commands, account="owner-p1", kind="person", name="王小明") -> MachineRecord:
    person = Registrant(**registrant(name, kind=kind, id_number=ID if kind == "person" else credit_code(),
                                     mobile=MOBILE))
    info = MachineInfo(**machine(today=TODAY, factory_serial=f"SN-{uuid.uuid4().hex[:10]}"))
    return await commands.apply(Owner(account).principal, person, info, uploads())


async def test_the_store_holds_ciphertext_hashed_as_such_and_the_fold_opens_it(world):
    _, raw, keys, _, commands = world
    record = await apply(commands)
    commit = (await raw.read_commits(f"machine-{record.id}"))[0]
    stored = json.dumps([e.to_json_dict() for e in commit.events], ensure_ascii=False)
    assert ID not in stored and MOBILE not in stored and "王小明" not in stored
    data = commit.events[0].data["registrant"]
    assert all(is_sealed(data[f]) for f in ("id_number", "mobile", "name")) and data["kind"] == "person"
    # the audit chain covers the ciphertext: it verifies without any key
    docs = [e.to_json_dict() for e in commit.events]
    assert commit.hash == commit_hash(commit.stream_id, commit.version, docs, GENESIS_HASH)
    again = await commands.load(record.id)  # the fold sees plain values
    assert (again.registrant.id_number, again.registrant.mobile, again.registrant.name) == (ID, MOBILE, "王小明")
    assert await open_values(keys, data) == {"kind": "person", "name": "王小明", "id_number": ID, "mobile": MOBILE}


async def test_a_company_name_is_no_personal_data_its_number_and_mobile_are(world):
    _, raw, _, _, commands = world
    record = await apply(commands, kind="company", name="重庆某某建设有限公司")
    data = (await raw.read_stream(f"machine-{record.id}"))[0].data["registrant"]
    assert data["name"] == "重庆某某建设有限公司" and is_sealed(data["id_number"]) and is_sealed(data["mobile"])


async def test_a_forgotten_person_reads_as_erased_history_still_folds_and_nothing_new_is_sealed(world):
    _, raw, keys, store, commands = world
    record = await apply(commands)
    assert await store.streams_of("owner-p1") == [f"machine-{record.id}"]
    await keys.forget("owner-p1")
    again = await commands.load(record.id)
    assert (again.registrant.id_number, again.registrant.mobile, again.registrant.name) == (ERASED,) * 3
    with pytest.raises(AppError) as refused:
        await apply(commands)
    assert refused.value.status == 409 and refused.value.code == "person_erased"


async def test_the_shredder_forgets_every_erased_subject_once(world):
    db, _, keys, _, _ = world
    sealed = await keys.seal("owner-p2", MOBILE)
    await db[ERASED_SUBJECTS].insert_one({"_id": "owner-p2", "subject_id": "owner-p2"})
    shredder = Shredder(db, keys)
    assert await shredder.once() == 1 and await shredder.once() == 0
    assert await SubjectKeys(db).open(sealed) == ERASED and await keys.forgotten("owner-p2")


def test_a_request_may_not_carry_a_sealed_or_erased_value():
    from pydantic import TypeAdapter
    plain = TypeAdapter(PlainRegistrant)
    for value in ("pd1:owner-x:AAAA", ERASED):
        with pytest.raises(ValidationError):
            plain.validate_python(registrant(mobile=value))
    assert plain.validate_python(registrant()).mobile == "13812345678"


def _requested(owner: str) -> CodeRequested:
    return CodeRequested(machine_id="m", owner_account_id=owner, registrant=Registrant(**registrant()),
                         machine=MachineInfo(**machine(today=TODAY)), uploads=uploads(), submitted_on=TODAY,
                         late=False, days_after_acquisition=1)


def test_a_code_in_force_refuses_an_erasure_and_an_ended_one_waits_the_retention_period():
    issued = CodeIssued(code="4-N04A0001", reviewer_account_id="r", issued_on=TODAY)
    in_force = tie_of("p", "machine-m", [(_requested("p"), TODAY), (issued, TODAY)])
    with pytest.raises(Conflict) as refused:
        check_erasable([in_force], TODAY, 0)
    assert refused.value.code == "code_in_force" and refused.value.field == "subject_id"
    with pytest.raises(Conflict) as waiting:
        check_erasable([tie_of("p", "machine-m", [(_requested("p"), TODAY)])], TODAY, 0)
    assert waiting.value.code == "application_in_progress"
    cancelled = CodeCancelled(reason="scrapped", occurred_on=TODAY, reported_on=TODAY, late=False)
    ended = tie_of("p", "machine-m", [(_requested("p"), TODAY), (issued, TODAY), (cancelled, TODAY)])
    assert ended == Tie("machine-m", ended.status, False, TODAY)
    with pytest.raises(Conflict) as early:
        check_erasable([ended], TODAY + timedelta(days=29), 30)
    assert early.value.code == "retention_not_over"
    assert check_erasable([ended], TODAY + timedelta(days=30), 30) == TODAY


def test_a_machine_sold_on_ends_the_sellers_tie_and_starts_the_buyers():
    issued = CodeIssued(code="4-N04A0001", reviewer_account_id="r", issued_on=TODAY)
    sold = OwnerChanged(previous_owner_account_id="p", new_owner_account_id="q", registrant=Registrant(**registrant()),
                        transferred_on=TODAY, reported_on=TODAY, late=False)
    history = [(_requested("p"), TODAY), (issued, TODAY), (sold, TODAY + timedelta(days=3))]
    assert tie_of("p", "machine-m", history).ended_on == TODAY + timedelta(days=3)
    assert tie_of("q", "machine-m", history).in_use
