"""The projector's gap check, pure: early events are skipped, and a rebalance forgets what was seen."""

from nrmm_kernel.projector import ProjectionRunner
from nrmm_kernel.stream_order import ForgetOnRebalance
from tests.sample import MachineMoved, registry


def runner() -> ProjectionRunner:
    return ProjectionRunner(db=None, projections=[], topics=["t"], bootstrap="unused:9092", group_id="g")


def moved(version: int):
    return registry.wrap(MachineMoved(site=f"S-{version}"), stream_id="machine-1", stream_version=version)


def test_an_event_after_a_gap_is_skipped_until_the_stream_arrives_in_order():
    r = runner()
    assert r._in_order(moved(1))
    assert not r._in_order(moved(3))  # v2 is still to come (a relay republishing a failed batch)
    assert r._in_order(moved(2)) and r._in_order(moved(3))
    assert r._in_order(moved(2))  # a duplicate is let through: the version guard in the read model drops it


async def test_after_a_rebalance_later_versions_applied_elsewhere_are_not_taken_for_a_gap():
    r = runner()
    assert r._in_order(moved(1))
    # the partition went to another runner, which applied v2..v4, and came back
    await ForgetOnRebalance(r._order).on_partitions_assigned(set())
    assert r._in_order(moved(5))
