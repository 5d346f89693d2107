from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from nrmm_kernel.envelope import Actor, EventEnvelope, UnknownEventType
from nrmm_kernel.eventstore import GENESIS_HASH, commit_hash
from tests.sample import MachineMoved, MachineRegistered, registry


def test_wrap_carries_cloudevents_attributes_and_stream_metadata():
    envelope = registry.wrap(
        MachineMoved(site="S-1"), stream_id="machine-1", stream_version=3,
        actor=Actor(account_id="acc-1", role="site_admin"), correlation_id="corr-1", causation_id="cmd-9",
    )
    assert envelope.specversion == "1.0"
    assert envelope.type == "test.nrmm.sample.MachineMoved"
    assert envelope.event_name == "MachineMoved"
    assert envelope.source == "/nrmm/sample"
    assert envelope.subject == "machine-1"
    assert envelope.datacontenttype == "application/json"
    assert (envelope.streamid, envelope.streamversion) == ("machine-1", 3)
    assert (envelope.correlationid, envelope.causationid) == ("corr-1", "cmd-9")
    assert (envelope.actorid, envelope.actorrole) == ("acc-1", "site_admin")
    assert envelope.time.tzinfo is not None
    assert envelope.data == {"site": "S-1"}


def test_envelope_survives_a_json_round_trip():
    envelope = registry.wrap(MachineRegistered(code="4-N01A7K2P", category="excavator"),
                             stream_id="machine-1", stream_version=1)
    again = EventEnvelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert registry.decode(again) == MachineRegistered(code="4-N01A7K2P", category="excavator")


def test_unregistered_event_cannot_be_wrapped_or_decoded():
    from nrmm_kernel.envelope import DomainEvent

    class Stray(DomainEvent):
        x: int

    with pytest.raises(UnknownEventType):
        registry.wrap(Stray(x=1), stream_id="s", stream_version=1)
    stray = EventEnvelope(id="1", source="/x", type="test.nrmm.sample.Stray", time=datetime.now(UTC),
                          streamid="s", streamversion=1, correlationid="c", data={"x": 1})
    with pytest.raises(UnknownEventType):
        registry.decode(stray)


def test_old_schema_versions_are_upcast_on_read():
    old = EventEnvelope(id="1", source="/nrmm/sample", type="test.nrmm.sample.MachineRegistered",
                        time=datetime.now(UTC), streamid="machine-7", streamversion=1, correlationid="c",
                        schemaversion=1, data={"code": "1-N05ABCDE"})
    upcast = registry.upcast(old)
    assert upcast.schemaversion == 2
    assert upcast.data == {"code": "1-N05ABCDE", "category": "other"}
    assert registry.decode(old) == MachineRegistered(code="1-N05ABCDE", category="other")


def test_events_are_immutable_and_reject_unknown_fields():
    event = MachineMoved(site="S-1")
    with pytest.raises(ValidationError):
        event.site = "S-2"
    with pytest.raises(ValidationError):
        MachineMoved(site="S-1", colour="red")


def test_commit_hash_chains_and_detects_edits():
    events = [{"id": "1", "data": {"site": "S-1"}}]
    first = commit_hash("machine-1", 1, events, GENESIS_HASH)
    assert first == commit_hash("machine-1", 1, events, GENESIS_HASH)
    assert first != commit_hash("machine-1", 1, [{"id": "1", "data": {"site": "S-2"}}], GENESIS_HASH)
    assert first != commit_hash("machine-1", 1, events, "f" * 64)
    assert first != commit_hash("machine-1", 2, events, GENESIS_HASH)
