"""Balancing over a service's instances (nrmm_kernel/upstreams.py): round-robin, the next instance when one refuses
the connection, a read retried when its connection broke, a write never sent twice."""

from __future__ import annotations

import httpx
import pytest

from nrmm_kernel.upstreams import Upstreams


async def test_round_robin_over_the_listed_instances():
    upstreams = Upstreams("http://a:1, http://b:2/")
    seen = [await upstreams.call(lambda base: _answer(base)) for _ in range(4)]
    assert seen == ["http://a:1", "http://b:2", "http://a:1", "http://b:2"]


async def test_a_refused_connection_goes_to_the_next_instance():
    upstreams = Upstreams("http://dead:1,http://alive:2")
    for _ in range(3):
        assert await upstreams.call(lambda base: _refuse_dead(base)) == "http://alive:2"


async def test_a_broken_connection_is_retried_for_a_read_and_not_for_a_write():
    upstreams = Upstreams("http://dying:1,http://alive:2")
    assert await upstreams.call(_broken_on_dying, safe=True) == "http://alive:2"
    upstreams = Upstreams("http://dying:1,http://alive:2")
    with pytest.raises(httpx.RemoteProtocolError):
        await upstreams.call(_broken_on_dying)


async def test_every_instance_refusing_is_the_caller_s_error():
    with pytest.raises(httpx.ConnectError):
        await Upstreams("http://a:1,http://b:2").call(_refuse_all)


def test_no_url_is_refused():
    with pytest.raises(ValueError):
        Upstreams(" , ")


async def _answer(base: str) -> str:
    return base


async def _refuse_dead(base: str) -> str:
    if "dead" in base:
        raise httpx.ConnectError("refused")
    return base


async def _broken_on_dying(base: str) -> str:
    if "dying" in base:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response")
    return base


async def _refuse_all(base: str) -> str:
    raise httpx.ConnectError("refused")
