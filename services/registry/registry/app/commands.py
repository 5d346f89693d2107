"""Command handlers: load the machine record, check who may act, decide, append."""

from __future__ import annotations

from datetime import date

import ulid
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.auth import Principal
from nrmm_kernel.codes import MalformedCode, compose_chongqing, parse_code
from nrmm_kernel.errors import ConcurrencyError, Forbidden, NotFound, ValidationFailed
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.idempotency import derived_id
from nrmm_kernel.reference import Role

from ..domain import rules
from ..domain.events import ExternalMachineConfirmed, ExternalMachineDeclared, registry
from ..domain.machine import MachineRecord
from ..domain.model import MachineInfo, Registrant
from .code_index import CodeIndex
from .current import CurrentRecords
from .identities import MachineIdentities
from .owners import OwnerDirectory
from .queries import require_registry_department
from .serials import SerialAllocator
from .uploads import UploadStore

# who reviews codes; also whose declaration of another province's machine holds gates to its stage (the bureau's
# staff, on its papers)
REVIEW_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})


class RegistryCommands:
    def __init__(self, db: AsyncDatabase, store: EventStore, serials: SerialAllocator | None = None,
                 today=rules.today_in_chongqing, owners: OwnerDirectory | None = None):
        self.db = db
        self.store = store
        self.records = AggregateRepository(store, registry, MachineRecord, "machine")
        self.codes = CodeIndex(db)
        self.current = CurrentRecords(store, self.codes)
        self.serials = serials or SerialAllocator(db)
        self.uploads = UploadStore(db)
        self.identities = MachineIdentities(db, self.records.load)
        self.today = today
        self.owners = owners  # the gateway's word on whose a mobile is (owner change)

    # loading -----------------------------------------------------------------------------
    async def load(self, machine_id: str) -> MachineRecord:
        record = await self.records.load(machine_id)
        if record is None:
            raise NotFound("申请或机械不存在 (no such application)", field="machine_id")
        return record

    async def load_by_code(self, code: str) -> MachineRecord:
        """From the write side (the code index and the record's stream): right the instant the code was issued."""
        try:
            parsed = parse_code(code)
        except MalformedCode as exc:
            raise ValidationFailed(exc.message, code="malformed_code", field="code") from None
        record = await self.current.by_code(parsed.text)
        if record is None:
            raise NotFound("编码不存在 (no such code)", field="code")
        return record

    def _require_reviewer(self, who: Principal, record: MachineRecord) -> None:
        if who.role not in REVIEW_ROLES:
            raise Forbidden("仅审核人员可以执行此操作 (reviewers only)", code="role_not_allowed")
        require_registry_department(who)
        who.require_district(record.district)

    def _require_owner_or_reviewer(self, who: Principal, record: MachineRecord) -> None:
        if who.role is Role.OWNER:
            record.require_owner(who.account_id)
        else:
            self._require_reviewer(who, record)

    async def _require_not_erased(self, account_id: str) -> None:
        """#14: nothing new is recorded of an erased person (checked before anything is written)."""
        check = getattr(self.store, "require_not_erased", None)
        if check is not None:
            await check(account_id)

    async def _save(self, record: MachineRecord, who: Principal):
        await self.records.save(record, actor=who.as_actor())
        return record

    # owner: application -------------------------------------------------------------------
    async def apply(self, who: Principal, registrant: Registrant, machine: MachineInfo,
                    uploads: dict[str, list[str]], request_key: str | None = None) -> MachineRecord:
        """``request_key``: the owner's idempotency key. Sent again after its answer was lost, the application
        gets its first answer (the record it made) instead of a conflict with itself."""
        machine_id = str(ulid.ULID())
        if request_key is not None:  # the same id every time this owner sends this request
            machine_id = str(ulid.ULID.from_bytes(derived_id("apply", who.account_id, request_key).bytes))
        if request_key is not None and (earlier := await self.records.load(machine_id)) is not None:
            return earlier
        # rule checks first: no database work for bad input
        record = MachineRecord.apply_for(machine_id, owner_account_id=who.account_id, registrant=registrant,
                                         machine=machine, uploads=uploads, today=self.today())
        await self._require_not_erased(who.account_id)
        await self.uploads.check_references(who.account_id, uploads)
        await self.identities.claim(record.id, machine)  # rule C1: one machine, one code
        try:
            return await self._save(record, who)
        except ConcurrencyError:
            if request_key is None:
                raise
            return await self.load(machine_id)  # the same request, sent twice at once: the one that got in

    async def amend(self, who: Principal, machine_id: str, registrant: Registrant, machine: MachineInfo,
                    uploads: dict[str, list[str]]) -> MachineRecord:
        record = await self.load(machine_id)
        record.require_owner(who.account_id)
        record.amend(registrant=registrant, machine=machine, uploads=uploads, today=self.today())
        await self._require_not_erased(who.account_id)
        await self.uploads.check_references(who.account_id, uploads)
        await self.identities.claim(record.id, machine)
        return await self._save(record, who)

    # reviewer: decisions (rules C4, C5, F1) ------------------------------------------------
    async def approve(self, who: Principal, machine_id: str, expected_version: int | None = None) -> MachineRecord:
        record = await self.load(machine_id)
        self._require_reviewer(who, record)
        self._check_expected(record, expected_version)
        code = record.code_for_approval()
        if code is None:
            serial = await self.serials.claim(machine_id)
            code = compose_chongqing(record.machine.emission_stage, record.machine.district, serial).text
        record.approve(reviewer_account_id=who.account_id, code=code, today=self.today())
        await self.codes.record(code, machine_id)  # before the event: found by its code the moment it exists
        return await self._save(record, who)

    async def reject(self, who: Principal, machine_id: str, reasons: list[str],
                     expected_version: int | None = None) -> MachineRecord:
        record = await self.load(machine_id)
        self._require_reviewer(who, record)
        self._check_expected(record, expected_version)
        record.reject(reviewer_account_id=who.account_id, reasons=reasons)
        return await self._save(record, who)

    @staticmethod
    def _check_expected(record: MachineRecord, expected_version: int | None) -> None:
        # the reviewer decided on what they saw: if it changed since, their decision does not stand
        if expected_version is not None and expected_version != record.version:
            raise ConcurrencyError(f"machine-{record.id}", expected_version, record.version)

    # lifecycle ---------------------------------------------------------------------------
    async def request_owner_change(self, who: Principal, code: str, new_owner_mobile: str,
                                   transferred_on: date) -> MachineRecord:
        """Rule C6: the owner names the new owner by their account's mobile; nothing moves until they accept."""
        record = await self.load_by_code(code)
        record.require_owner(who.account_id)
        record.check_owner_change(transferred_on=transferred_on, today=self.today())  # before asking the gateway
        new_owner = await self.owners.owner_account(new_owner_mobile)
        record.request_owner_change(new_owner_account_id=new_owner, transferred_on=transferred_on, today=self.today())
        return await self._save(record, who)

    async def accept_owner_change(self, who: Principal, code: str, registrant: Registrant) -> MachineRecord:
        record = await self.load_by_code(code)
        record.accept_owner_change(account_id=who.account_id, registrant=registrant, today=self.today())
        await self._require_not_erased(who.account_id)
        return await self._save(record, who)

    async def withdraw_owner_change(self, who: Principal, code: str) -> MachineRecord:
        record = await self.load_by_code(code)
        record.withdraw_owner_change(account_id=who.account_id, today=self.today())
        return await self._save(record, who)

    async def cancel(self, who: Principal, code: str, reason: str, occurred_on: date,
                     note: str | None) -> MachineRecord:
        record = await self.load_by_code(code)
        self._require_owner_or_reviewer(who, record)
        record.cancel(reason=reason, occurred_on=occurred_on, today=self.today(), note=note)
        return await self._save(record, who)

    async def request_plate_reissue(self, who: Principal, code: str, damaged_on: date, reason: str) -> MachineRecord:
        record = await self.load_by_code(code)
        record.require_owner(who.account_id)
        record.request_plate_reissue(damaged_on=damaged_on, reason=reason, today=self.today())
        return await self._save(record, who)

    async def reissue_plate(self, who: Principal, code: str) -> MachineRecord:
        record = await self.load_by_code(code)
        self._require_reviewer(who, record)
        record.reissue_plate(staff_account_id=who.account_id)
        return await self._save(record, who)

    async def correct(self, who: Principal, code: str, machine: MachineInfo) -> MachineRecord:
        record = await self.load_by_code(code)
        record.require_owner(who.account_id)
        record.correct(machine=machine, today=self.today())
        await self.identities.claim(record.id, machine)
        return await self._save(record, who)

    # other provinces (rule C3) -------------------------------------------------------------
    async def declare_external(self, who: Principal, code: str, category: str | None, source: str = "owner") -> dict:
        require_registry_department(who)  # owners, or the ecology bureau's staff
        try:
            parsed = parse_code(code)
        except MalformedCode as exc:
            raise ValidationFailed(exc.message, code="malformed_code", field="code") from None
        if parsed.is_chongqing:
            raise ValidationFailed("重庆编码无需声明，请直接登记 (a Chongqing code is registered, not declared)",
                                   code="chongqing_code", field="code")
        stream = f"external-{parsed.text}"
        event = ExternalMachineDeclared(code=parsed.text, province=parsed.province, stage=parsed.stage,
                                        category=category, declared_by_account_id=who.account_id, source=source,
                                        confirmed=who.role in REVIEW_ROLES)
        envelope = registry.wrap(event, stream_id=stream, stream_version=1, actor=who.as_actor())
        try:
            await self.store.append(stream, 0, [envelope])
            created = True
        except ConcurrencyError:
            created = False  # declared before: rule C3, never a second registration
            if who.role in REVIEW_ROLES:
                await self._confirm_external(who, stream, parsed.text)
        return {"code": parsed.text, "province": parsed.province, "stage": parsed.stage, "created": created}

    async def _confirm_external(self, who: Principal, stream: str, code: str) -> None:
        """The ecology bureau's word on a code an owner declared first: the stage the gates hold the machine to."""
        for _ in range(3):
            history = await self.store.read_stream(stream)
            if any(isinstance(e, ExternalMachineConfirmed) or (isinstance(e, ExternalMachineDeclared) and e.confirmed)
                   for e in map(registry.decode, history)):
                return
            event = ExternalMachineConfirmed(code=code, confirmed_by_account_id=who.account_id)
            try:
                await self.store.append(stream, len(history), [registry.wrap(
                    event, stream_id=stream, stream_version=len(history) + 1, actor=who.as_actor())])
                return
            except ConcurrencyError:
                continue
