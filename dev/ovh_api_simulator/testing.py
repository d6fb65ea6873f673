"""Test support: run the simulator in a background thread and drive it from synchronous code."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
from aiohttp import web

from ovh_api_simulator.app import create_app
from ovh_api_simulator.auth import compute_signature
from ovh_api_simulator.settings import Settings
from ovh_api_simulator.simulator import SIMULATOR_KEY

START_TIMEOUT_SECONDS = 10.0
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "[::1]", "localhost")

# Demo credentials of dev/seeds/demo.yaml and dev/seeds/test.yaml; they only open the simulator.
DEMO_SIGNED = {
    "application_key": "demo-ak",
    "application_secret": "demo-as",
    "consumer_key": "demo-ck",
}
DEMO_OAUTH2 = {"client_id": "demo-client", "client_secret": "demo-secret"}


class SimulatorControl:
    """Synchronous client of the /_sim/ control API."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def seed(self, document: dict[str, Any], replace: bool = False) -> dict[str, Any]:
        """Merge a seed document into the state (replace=True clears the account first)."""
        params = {"replace": "true"} if replace else None
        result: dict[str, Any] = self._call("POST", "/_sim/seed", json=document, params=params)
        return result

    def reset(self) -> None:
        """Clear state, faults and request log, and restore the start-up settings."""
        self._call("POST", "/_sim/reset")

    def pools(self) -> list[dict[str, Any]]:
        """Return every pool with kubeId and nodes."""
        result: list[dict[str, Any]] = self._call("GET", "/_sim/pools")
        return result

    def pool(self, pool_id: str) -> dict[str, Any]:
        """Return one pool with kubeId and nodes; reading it does not count as a client read."""
        result: dict[str, Any] = self._call("GET", f"/_sim/pools/{pool_id}")
        return result

    def patch_pool(self, pool_id: str, **fields: Any) -> dict[str, Any]:
        """Change pool fields behind the operator's back (desiredNodes, minNodes, status, ...)."""
        result: dict[str, Any] = self._call("PATCH", f"/_sim/pools/{pool_id}", json=fields)
        return result

    def delete_pool(self, pool_id: str) -> None:
        """Remove a pool at once."""
        self._call("DELETE", f"/_sim/pools/{pool_id}")

    def autoscale(self, pool_id: str, desired_nodes: int) -> dict[str, Any]:
        """Move an autoscaled pool's desiredNodes as OVH's autoscaler would."""
        result: dict[str, Any] = self._call(
            "POST", f"/_sim/pools/{pool_id}/autoscale", json={"desiredNodes": desired_nodes}
        )
        return result

    def autoscaler(self, interval_seconds: float | None) -> None:
        """Start the scheduled random-walk autoscaler, or stop it with None."""
        self._call("POST", "/_sim/autoscaler", json={"intervalSeconds": interval_seconds})

    def settle(self, pool_id: str | None = None) -> Any:
        """Finish the pending transitions of one pool, or of all pools."""
        path = "/_sim/settle" if pool_id is None else f"/_sim/pools/{pool_id}/settle"
        return self._call("POST", path)

    def requests(self, since: float | None = None) -> list[dict[str, Any]]:
        """Return the request log, optionally only entries at or after a Unix time."""
        params = None if since is None else {"since": repr(since)}
        result: list[dict[str, Any]] = self._call("GET", "/_sim/requests", params=params)
        return result

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/_sim/requests")

    def inject_fault(
        self,
        kind: str,
        *,
        method: str = "*",
        route: str = "*",
        count: int | None = 1,
        status: int | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
    ) -> str:
        """Register a fault and return its id; count=None keeps it until cleared."""
        spec: dict[str, Any] = {"kind": kind, "method": method, "route": route, "count": count}
        optional = {"status": status, "retryAfter": retry_after, "seconds": seconds}
        spec.update({key: value for key, value in optional.items() if value is not None})
        result = self._call("POST", "/_sim/faults", json=spec)
        return str(result["id"])

    def faults(self) -> list[dict[str, Any]]:
        """Return the faults with their remaining and hit counts."""
        result: list[dict[str, Any]] = self._call("GET", "/_sim/faults")
        return result

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/_sim/faults")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings given as camelCase keyword arguments; return all settings."""
        if not changes:
            result: dict[str, Any] = self._call("GET", "/_sim/settings")
            return result
        result = self._call("POST", "/_sim/settings", json=changes)
        return result

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(
                f"simulator control call {method} {path} failed: "
                f"{response.status_code} {response.text}"
            )
        return response.json()


class SimulatorServer:
    """A simulator on 127.0.0.1 with a free port, served by its own event loop in a thread."""

    def __init__(self, seed: dict[str, Any] | None = None, **settings: Any):
        self._seed = seed
        self._settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.port = 0
        self.url = ""
        self.base_url = ""
        self.control = SimulatorControl("http://127.0.0.1")

    def start(self) -> SimulatorServer:
        """Start the server thread and wait until it listens."""
        self._thread = threading.Thread(target=self._run, name="ovh-api-simulator", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_SECONDS):
            raise RuntimeError(f"OVH API simulator did not start within {START_TIMEOUT_SECONDS} s")
        if self._error is not None:
            raise RuntimeError(f"OVH API simulator failed to start: {self._error}") from self._error

        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.url + "/1.0"
        self.control = SimulatorControl(self.url)
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(timeout=START_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=START_TIMEOUT_SECONDS)
        self._loop = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except Exception as error:  # reported to the thread that called start()
            self._error = error
            self._started.set()
            return
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _startup(self) -> None:
        settings = Settings()
        settings.update(self._settings)
        app = create_app(settings, self._seed)
        # Keyword settings win over the seed's settings, as command line flags do.
        app[SIMULATOR_KEY].settings.update(self._settings)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def make_client(sim: SimulatorServer, credential: str = "signed", **kwargs: Any) -> Any:
    """Build a python-ovh client pointed at the simulator, for tests only.

    credential "signed" uses the demo application key triple, "oauth2" the demo OAuth2 client;
    keyword arguments override application_key, application_secret, consumer_key, client_id,
    client_secret and timeout. OAuth2 mode sets OAUTHLIB_INSECURE_TRANSPORT=1 in the process
    environment because oauthlib rejects plain-http token URLs, and it refuses non-loopback URLs.
    """
    # Imported here so that the package works without python-ovh installed.
    import ovh  # noqa: PLC0415

    if credential == "signed":
        options = dict(DEMO_SIGNED)
    elif credential == "oauth2":
        options = dict(DEMO_OAUTH2)
    else:
        raise ValueError(f"credential must be 'signed' or 'oauth2', got {credential!r}")
    options.update(kwargs)

    client = ovh.Client(endpoint="ovh-eu", **options)
    client._endpoint = sim.base_url
    if credential == "oauth2":
        _allow_loopback_http_oauth(sim.url)
        client._oauth2.token_url = sim.url + "/auth/oauth2/token"
    return client


def signed_request(
    sim: SimulatorServer,
    method: str,
    path: str,
    body: str = "",
    *,
    application_key: str = DEMO_SIGNED["application_key"],
    application_secret: str = DEMO_SIGNED["application_secret"],
    consumer_key: str = DEMO_SIGNED["consumer_key"],
    timestamp: int | None = None,
    timeout: float = 10.0,
) -> requests.Response:
    """Send one request signed like python-ovh does, for cases python-ovh cannot produce."""
    url = sim.base_url + path
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = compute_signature(
        application_secret=application_secret,
        consumer_key=consumer_key,
        method=method,
        url=url,
        body=body,
        timestamp=stamp,
    )
    headers = {
        "X-Ovh-Application": application_key,
        "X-Ovh-Consumer": consumer_key,
        "X-Ovh-Timestamp": stamp,
        "X-Ovh-Signature": signature,
    }
    if body:
        headers["Content-Type"] = "application/json"
    return requests.request(
        method, url, data=body.encode("utf-8"), headers=headers, timeout=timeout
    )


def _allow_loopback_http_oauth(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"plain-http OAuth2 is only allowed for loopback URLs, got {url}")
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
