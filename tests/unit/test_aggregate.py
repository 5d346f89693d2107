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


def test_an_aggregate_is_made_by_its_creation_event_and_folds_events_by_their_type():
    created = SampleMachine.register("m1", "3-N07ABCDE", "crane")
    assert created.code == "3-N07ABCDE" and created.site is None and created.version == 1
    assert created.pending == [MachineRegistered(code="3-N07ABCDE", category="crane")]
    with pytest.raises(TypeError, match="creation event"):
        SampleMachine.rehydrate("m1", [MachineMoved(site="S-1")])
    with pytest.raises(ValueError):
        SampleMachine.rehydrate("m1", [])
    with pytest.raises(TypeError, match="cannot fold"):
        created.record(MachineRegistered(code="3-N07ABCDE", category="crane"))  # not a fold of its own


def test_a_class_folding_one_event_twice_is_refused_when_defined():
    from nrmm_kernel.aggregate import Aggregate, folds

    with pytest.raises(TypeError, match="twice"):
        class Twice(Aggregate):
            @folds(MachineMoved)
            def one(self, e: MachineMoved) -> None: ...

            @folds(MachineMoved)
            def two(self, e: MachineMoved) -> None: ...


def test_a_fold_named_the_old_way_but_not_marked_is_refused_when_defined():
    from nrmm_kernel.aggregate import Aggregate

    with pytest.raises(TypeError, match="not marked"):
        class Unmarked(Aggregate):  # would silently never be called: events would fail to fold at run time
            def on_MachineMoved(self, e: MachineMoved) -> None: ...


def test_an_event_the_aggregate_cannot_fold_is_an_error():
    from nrmm_kernel.envelope import DomainEvent

    class Unknown(DomainEvent):
        pass

    with pytest.raises(TypeError):
        SampleMachine.fold("m1", [Unknown()])
