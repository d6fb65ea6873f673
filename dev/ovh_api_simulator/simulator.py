"""The simulator's state: account, settings, faults, request log and the OVH-side autoscaler."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
import secrets
import time
import uuid
from typing import Any

from aiohttp import web

from ovh_api_simulator import lifecycle, pools
from ovh_api_simulator.auth import Identity
from ovh_api_simulator.faults import FaultRegistry, RequestLog
from ovh_api_simulator.model import Account, Pool
from ovh_api_simulator.seed import apply_seed
from ovh_api_simulator.settings import Settings

logger = logging.getLogger(__name__)


class Simulator:
    """In-memory state of one simulator server."""

    def __init__(self, settings: Settings | None = None, seed: dict[str, Any] | None = None):
        self.initial_settings = settings or Settings()
        self.settings = dataclasses.replace(self.initial_settings)
        self.account = Account()
        self.faults = FaultRegistry()
        self.log = RequestLog()
        self.random = random.Random(self.settings.autoscaler_random_seed)  # noqa: S311 (not security)
        self._query_prefix = secrets.token_hex(4)
        self._query_numbers = itertools.count(1)
        if seed:
            self.seed(seed)

    def next_query_id(self) -> str:
        """Return a new X-Ovh-Queryid value shaped like OVH's (EU.ext-1.<hex>.<n>.<uuid>)."""
        return f"EU.ext-1.{self._query_prefix}.{next(self._query_numbers)}.{uuid.uuid4()}"

    def seed(self, document: dict[str, Any], replace: bool = False) -> None:
        """Merge a seed document into the state, after clearing the account when replace is set."""
        if replace:
            self.account = Account()
        apply_seed(self.account, self.settings, document)
        self.random = random.Random(self.settings.autoscaler_random_seed)  # noqa: S311 (not security)

    def reset(self) -> None:
        """Clear the account, faults and request log, and restore the start-up settings."""
        self.account = Account()
        self.faults = FaultRegistry()
        self.log = RequestLog()
        self.settings = dataclasses.replace(self.initial_settings)

    def advance(self) -> None:
        """Finish every transition that is due."""
        lifecycle.advance(self.account, time.monotonic())

    def autoscale(self, pool: Pool, desired: int) -> None:
        """Change desiredNodes of an autoscaled pool as OVH's autoscaler would."""
        pools.scale_to(self.account, self.settings, pool, desired)

    def autoscale_step(self) -> None:
        """Move each autoscaled pool one node up or down at random, within its bounds."""
        self.advance()
        for pool in list(self.account.pools.values()):
            if not pool.autoscale or pool.deleting:
                continue
            desired = pool.desired_nodes + self.random.choice((-1, 1))
            self.autoscale(pool, desired)
            logger.info("autoscaler moved pool %s to desiredNodes=%d", pool.id, pool.desired_nodes)


SIMULATOR_KEY = web.AppKey("simulator", Simulator)
RAW_BODY_KEY = web.RequestKey("raw_body", str)
IDENTITY_KEY = web.RequestKey("identity", Identity)
LOG_ENTRY_KEY = web.RequestKey("log_entry", dict[str, Any])
