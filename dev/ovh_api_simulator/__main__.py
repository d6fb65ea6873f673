"""Command line entry point: ovh-api-simulator --host 127.0.0.1 --port 8080 --seed FILE."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from ovh_api_simulator.app import create_app
from ovh_api_simulator.seed import SeedError, load_seed_file
from ovh_api_simulator.settings import Settings
from ovh_api_simulator.simulator import SIMULATOR_KEY

logger = logging.getLogger("ovh_api_simulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="ovh-api-simulator",
        description="Serve a local imitation of the OVHcloud API for MKS node pools.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port; 0 picks a free one (default: 8080)"
    )
    parser.add_argument("--seed", type=Path, help="seed file, YAML or JSON (ends in .json)")
    parser.add_argument(
        "--time-scale", type=float, help="multiplier of every simulated delay (default: 1.0)"
    )
    parser.add_argument(
        "--node-seconds",
        type=float,
        help="seconds a node takes to install or delete, before --time-scale; 0: instant mode",
    )
    parser.add_argument("--port-file", type=Path, help="file to write the listening port to")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    try:
        seed = load_seed_file(args.seed) if args.seed else None
    except (OSError, ValueError, SeedError) as error:
        print(f"ovh-api-simulator: cannot load seed file {args.seed}: {error}", file=sys.stderr)
        return 2

    try:
        app = create_app(Settings(), seed)
    except (ValueError, SeedError) as error:
        print(f"ovh-api-simulator: invalid seed file {args.seed}: {error}", file=sys.stderr)
        return 2
    _apply_flags(app, args)

    asyncio.run(_serve(app, args.host, args.port, args.port_file))
    return 0


def _apply_flags(app: web.Application, args: argparse.Namespace) -> None:
    sim = app[SIMULATOR_KEY]
    changes: dict[str, float] = {}
    if args.time_scale is not None:
        changes["timeScale"] = args.time_scale
    if args.node_seconds is not None:
        changes["nodeSeconds"] = args.node_seconds
    sim.settings.update(changes)
    sim.initial_settings.update(changes)


async def _serve(app: web.Application, host: str, port: int, port_file: Path | None) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()

    bound_port = int(runner.addresses[0][1])
    if port_file is not None:
        port_file.write_text(f"{bound_port}\n", encoding="utf-8")
    print(f"OVH API simulator listening on http://{host}:{bound_port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()

    logger.info("stopping OVH API simulator on port %d", bound_port)
    await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
