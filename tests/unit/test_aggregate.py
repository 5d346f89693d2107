import pytest

from nrmm_kernel.errors import Conflict
from tests.sample import MachineMoved, MachineRegistered, MachineRetired, SampleMachine


def test_state_is_the_fold_of_its_events():
    machine = SampleMachine.fold("m1", [
        MachineRegistered(code="3-N07ABCDE", category="crane"),
        MachineMoved(site="S-1"),
        MachineMoved(site="S-2"),
    ])
    assert machine.code == "3-N07ABCDE"
    assert machine.site == "S-2"
    assert machine.moves == 2
    assert machine.version == 3
    assert machine.pending == []


def test_commands_record_pending_events_on_top_of_the_stored_version():
    machine = SampleMachine.fold("m1", [MachineRegistered(code="3-N07ABCDE", category="crane")])
    machine.move("S-9")
    machine.retire("scrapped")
    assert machine.pending == [MachineMoved(site="S-9"), MachineRetired(reason="scrapped")]
    assert machine.stored_version == 1
    assert machine.version == 3
    machine.mark_saved()
    assert machine.stored_version == 3


def test_rules_refuse_commands_without_recording_anything():
    machine = SampleMachine.fold("m1", [MachineRegistered(code="3-N07ABCDE", category="crane"),
                                        MachineRetired(reason="scrapped")])
    with pytest.raises(Conflict) as refused:
        machine.move("S-1")
    assert refused.value.code == "machine_retired"
    assert machine.pending == []
    with pytest.raises(Conflict):
        machine.register("3-N07ABCDE", "crane")


def test_an_event_the_aggregate_cannot_fold_is_an_error():
    from nrmm_kernel.envelope import DomainEvent

    class Unknown(DomainEvent):
        pass

    with pytest.raises(TypeError):
        SampleMachine.fold("m1", [Unknown()])
