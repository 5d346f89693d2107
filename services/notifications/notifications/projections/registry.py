"""From the registry's topic: who owns each machine (context for the fan-out), and the notices its events call for.

``notice_machines``: one document per machine record (stream ``machine-…``): its owners by stream version, the owner's
mobile, the code, the status. ``notice_requests_registry``: one document per event that calls for notices: written
once by the projector (the version guard and the event id as ``_id`` make duplicates change nothing), then handed
to the fan-out, which alone marks it done.
"""

from __future__ import annotations

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import parse_code
from nrmm_kernel.projector import Projection, on
from nrmm_kernel.reference import DISTRICTS
from registry import contracts as registry

from ..domain.notices import account, days_after, machine_owner, notice, reminder

PLATE_COLLECTION_DAYS = 10  # rule C8



# events of the owner-change consent flow (rule C6)
OwnerChangeRequested = registry.OwnerChangeRequested
OwnerChangeCancelled = registry.OwnerChangeCancelled

CANCEL_REASONS = {"scrapped": "机械报废", "exported": "迁出或出口", "other": "其他原因"}
OWNER_CHANGE_ENDED = {"withdrawn": "原所有者撤回", "declined": "新所有者拒绝接收", "expired": "超过确认期限"}


def _owner(doc: dict | None, account_id: str, mobile: str | None, version: int) -> list[dict]:
    owners = list((doc or {}).get("owners", []))
    owners.append({"from": version, "account": account_id, "mobile": mobile})
    return owners[-20:]


def _district_of(code: str | None) -> str:
    try:
        return DISTRICTS.get(parse_code(code).district, "") if code else ""
    except Exception:  # noqa: BLE001 - another province's code, or none
        return ""


class MachineContext(Projection):
    name = "notice_machines"
    contract = registry.events

    @on(registry.CodeRequested)
    def requested(self, doc, event: registry.CodeRequested, envelope) -> dict:
        return {"owners": _owner(doc, event.owner_account_id, event.registrant.mobile, envelope.streamversion),
                "brand": event.machine.brand, "model": event.machine.model, "code": None, "status": "pending"}

    @on(registry.ApplicationAmended)
    def amended(self, doc, event: registry.ApplicationAmended, envelope) -> dict:
        owners = doc["owners"]
        return {**doc, "owners": _owner(doc, owners[-1]["account"], event.registrant.mobile, envelope.streamversion),
                "brand": event.machine.brand, "model": event.machine.model}

    @on(registry.CodeIssued)
    def issued(self, doc, event: registry.CodeIssued, envelope) -> dict:
        return {**doc, "code": event.code, "status": "in_force"}

    @on(registry.MachineInfoCorrected)
    def corrected(self, doc, event: registry.MachineInfoCorrected, envelope) -> dict:
        return {**doc, "brand": event.machine.brand, "model": event.machine.model}

    @on(registry.OwnerChanged)
    def owner_changed(self, doc, event: registry.OwnerChanged, envelope) -> dict:
        return {**doc, "owners": _owner(doc, event.new_owner_account_id, event.registrant.mobile,
                                        envelope.streamversion)}

    @on(registry.CodeCancelled)
    def cancelled(self, doc, event: registry.CodeCancelled, envelope) -> dict:
        return {**doc, "status": "cancelled"}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index("code")


class RegistryNotices(Projection):
    """One request per event; ``machine`` as the projector saw it is read by the fan-out (``machine_owner``)."""

    name = "notice_requests_registry"
    contract = registry.events

    def doc_id(self, envelope) -> str:
        return envelope.id

    def finish(self, doc: dict, envelope) -> dict:
        return {"event_id": envelope.id, "event_type": envelope.event_name, "stream": envelope.streamid,
                "version": envelope.streamversion, "at": envelope.time, "done": False,
                "machine": envelope.streamid, "reminders": [], **doc}

    def _owner(self, envelope) -> dict:
        return machine_owner(envelope.streamid, envelope.streamversion)

    @on(registry.CodeIssued)
    def issued(self, doc, event: registry.CodeIssued, envelope) -> dict:
        # rule C4: on approval the registrant is told to collect the code plate and the information card
        return {"notices": [notice("code_issued", self._owner(envelope), code=event.code,
                                   district=_district_of(event.code))]}

    @on(registry.CodeRejected)
    def rejected(self, doc, event: registry.CodeRejected, envelope) -> dict:
        return {"notices": [notice("application_rejected", self._owner(envelope), reasons=event.reasons)]}

    @on(registry.OwnerChanged)
    def owner_changed(self, doc, event: registry.OwnerChanged, envelope) -> dict:
        # rule C6: both owners are told (the previous owner as of the version before the change, with the mobile
        # recorded then)
        return {"notices": [
            notice("owner_changed_previous", machine_owner(envelope.streamid, envelope.streamversion - 1),
                   transferred_on=event.transferred_on),
            notice("owner_changed_new", account(event.new_owner_account_id, event.registrant.mobile),
                   transferred_on=event.transferred_on)]}

    @on(registry.CodeCancelled)
    def cancelled(self, doc, event: registry.CodeCancelled, envelope) -> dict:
        # rule C7
        return {"notices": [notice("code_cancelled", self._owner(envelope),
                                   reason=CANCEL_REASONS.get(event.reason, event.reason))]}

    @on(registry.PlateReissued)
    def plate_reissued(self, doc, event: registry.PlateReissued, envelope) -> dict:
        owner = self._owner(envelope)
        issued_on = today_in_chongqing(envelope.time)
        # rule C8: a reissued plate not collected after 10 days is reminded of (unless the code is cancelled)
        later = reminder(f"plate-uncollected:{envelope.streamid}:{event.reissue_count}",
                         days_after(issued_on, PLATE_COLLECTION_DAYS), "plate_reissue_not_collected", owner,
                         condition={"machine_in_force": envelope.streamid}, days=PLATE_COLLECTION_DAYS)
        return {"notices": [notice("plate_reissue_ready", owner, reissue_count=event.reissue_count)],
                "reminders": [later]}

    @on(OwnerChangeRequested)
    def change_requested(self, doc, event, envelope) -> dict:
        # rule C6: the new owner must accept before the record moves
        return {"notices": [notice("owner_change_requested", account(event.new_owner_account_id),
                                   expires_on=event.expires_on)]}

    @on(OwnerChangeCancelled)
    def change_cancelled(self, doc, event, envelope) -> dict:
        reason = OWNER_CHANGE_ENDED.get(event.reason, event.reason)
        return {"notices": [notice("owner_change_cancelled", self._owner(envelope), reason=reason),
                            notice("owner_change_cancelled", account(event.new_owner_account_id), reason=reason)]}
