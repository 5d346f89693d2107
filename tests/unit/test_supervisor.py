"""Supervised runners: restarted whenever they fail or end; /readyz's judgement of each."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from nrmm_kernel.envelope import utcnow
from nrmm_kernel.supervisor import Health, supervise


async def test_a_runner_that_fails_or_ends_is_started_again_until_stopped():
    health, stop, runs = Health("flaky"), asyncio.Event(), []

    async def body(stop_event: asyncio.Event) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("database down")
        if len(runs) == 2:
            return  # ended on its own: started again
        health.ok()
        stop_event.set()

    await asyncio.wait_for(supervise(health, body, stop, first_delay=0.001), 5)
    assert runs == [0, 1, 2] and health.restarts == 2 and health.last_error is None


def test_a_runner_is_healthy_while_it_succeeds_and_stuck_after_the_threshold():
    health = Health("relay")
    health.ok()
    assert health.report(60, broker_down=False)[0]
    health.last_success = utcnow() - timedelta(seconds=120)
    healthy, shown = health.report(60, broker_down=False)
    assert not healthy and shown["status"] == "stuck"


def test_a_broker_outage_explains_a_quiet_runner_that_needs_the_broker_but_not_one_that_does_not():
    needs, does_not = Health("projector"), Health("scheduler", needs_broker=False)
    for health in (needs, does_not):
        health.last_success = utcnow() - timedelta(seconds=120)
    assert needs.report(60, broker_down=True)[0]
    assert not does_not.report(60, broker_down=True)[0]


async def test_a_runner_whose_task_ended_is_dead():
    health = Health("relay")
    async def ends() -> None:
        return None

    health.task = asyncio.create_task(ends())
    await health.task
    healthy, shown = health.report(60, broker_down=False)
    assert not healthy and shown["status"] == "dead"
