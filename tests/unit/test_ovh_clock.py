"""Tests of the OVH clock read: one GET /auth/time per endpoint, shared by its clients."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from ovh_api_simulator.testing import SimulatorServer
from ovh_nodepool_operator.clients.credentials import Credentials
from ovh_nodepool_operator.clients.ovh_api import EndpointClock, OvhApi
from ovh_nodepool_operator.clients.ratelimit import TokenBucket


def api(sim: SimulatorServer, consumer_key: str, clock: EndpointClock | None) -> OvhApi:
    credentials = Credentials(
        endpoint=sim.base_url,
        application_key="demo-ak",
        application_secret=SecretStr("demo-as"),
        consumer_key=SecretStr(consumer_key),
    )
    return OvhApi(credentials, bucket=TokenBucket(50, 20), timeout=5, clock=clock)


def clock_reads(sim: SimulatorServer) -> int:
    return sum(entry["path"].endswith("/auth/time") for entry in sim.control.requests())


def list_projects_together(apis: list[OvhApi]) -> None:
    async def calls() -> None:
        await asyncio.gather(*(item.list_projects() for item in apis for _ in range(3)))

    asyncio.run(calls())


def test_shared_clock_read_once(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.clear_requests()
    clock = EndpointClock()
    apis = [api(ovh_sim, "demo-ck", clock), api(ovh_sim, "demo-ck-limited", clock)]

    list_projects_together(apis)

    assert clock_reads(ovh_sim) == 1
    assert clock.offset is not None


def test_own_clocks_read_once_each(ovh_sim: SimulatorServer) -> None:
    ovh_sim.control.clear_requests()
    apis = [api(ovh_sim, "demo-ck", None), api(ovh_sim, "demo-ck-limited", None)]

    list_projects_together(apis)

    assert clock_reads(ovh_sim) == 2
