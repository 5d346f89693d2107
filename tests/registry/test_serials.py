"""Rule C5 on the real database: serials unique city-wide and never reused, under 1,000 concurrent approvals."""

import asyncio
import itertools
import random
import re

from nrmm_kernel.auth import Principal
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Department, Role
from registry.app.commands import RegistryCommands
from registry.app.serials import SerialAllocator
from registry.domain.machine import MachineRecord
from registry.domain.model import MachineInfo, Registrant
from tests.registry.fixtures import TODAY, machine, registrant, uploads

CODE_RE = re.compile(r"^[1-4DX]-N(0[1-9]|[1-3][0-9]|4[01])[0-9A-HJ-NP-Z]{5}$")


async def test_a_thousand_concurrent_approvals_get_a_thousand_distinct_codes(db):
    store = EventStore(db)
    await store.ensure_indexes()
    # a narrow generator (3,000 possible serials for 1,000 machines) makes racing draws collide often
    rng = random.Random(7)
    narrow = [f"{a}{b}{c}ZZ" for a, b, c in itertools.product("ABCDEFGHJKLMNPQ", "2345678901", "ABCDEFGHJKLMNPQRSTUV")]
    serials = SerialAllocator(db, generate=lambda: rng.choice(narrow[:3000]), attempts=200)
    commands = RegistryCommands(db, store, serials=serials, today=lambda: TODAY)
    owner = Principal(account_id="owner-bulk", role=Role.OWNER)
    reviewer = Principal(account_id="reviewer-bulk", role=Role.REVIEWER, department=Department.ECOLOGY)

    ids = []
    for i in range(1000):
        record = MachineRecord.apply_for(
            f"bulk{i:04d}", owner_account_id=owner.account_id, registrant=Registrant(**registrant()),
            machine=MachineInfo(**machine(district=f"{i % 41 + 1:02d}")), uploads=uploads(), today=TODAY)
        await commands.records.save(record, actor=owner.as_actor())
        ids.append(record.id)

    approved = await asyncio.gather(*(commands.approve(reviewer, machine_id) for machine_id in ids))
    codes = [record.code for record in approved]
    assert len(set(codes)) == 1000
    assert len({code[5:] for code in codes}) == 1000  # the generated characters alone are unique city-wide
    assert all(CODE_RE.match(code) for code in codes)
    for record, code in zip(approved, codes, strict=True):
        assert code[3:5] == record.machine.district
    assert await db.code_serials.count_documents({}) == 1000


async def test_a_claimed_serial_is_never_handed_out_again(db):
    draws = iter(["AAAAA", "AAAAA", "BBBBB"])
    serials = SerialAllocator(db, generate=lambda: next(draws))
    assert await serials.claim("m1") == "AAAAA"
    assert await serials.claim("m2") == "BBBBB"  # AAAAA was drawn again and refused by the database
