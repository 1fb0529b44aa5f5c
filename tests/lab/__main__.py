"""Command line of the lab: ``python -m tests.lab <component> [options]``.

Subcommands:
    netbox: start the lab NetBox, print how to reach it, and keep it running until Ctrl-C or
        SIGTERM, then stop everything it started.
    devices: start the demo's simulated devices (ios, eos, nxos_ssh, junos, iosxr_netconf),
        print how to reach them with NAPALM, and keep them running until Ctrl-C or SIGTERM.

The whole demo (NetBox, devices, seed and sync) is ``python -m examples.demo``.

Each subcommand is one ``_add_<name>_command`` function registering its parser and handler, so
more components can be added beside ``netbox``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from .devices.fleet import Fleet
from .netbox_server import DEFAULT_WORKERS, NetBoxLab

Handler = Callable[[argparse.Namespace], int]


def _describe(lab: NetBoxLab) -> str:
    """Return the text that tells a person how to use a running lab NetBox.

    Args:
        lab: The running lab.

    Returns:
        Multi-line description.
    """
    return "\n".join(
        [
            f"NetBox {lab.url}  (API {lab.url}/api/)",
            f"  login     {lab.admin_user} / {lab.admin_password}",
            f"  token v1  {lab.token_v1}   (Authorization: Token <token>)",
            f"  token v2  {lab.token_v2}   (Authorization: Bearer <token>)",
            f"  database  {lab.database}  (template {lab.template})",
            f"  logs      {lab.run_dir}  (access log {lab.access_log.name})",
            f"  started in {lab.timings.get('total', 0.0):.1f}s; Ctrl-C stops it",
        ]
    )


def _wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM arrives."""
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    while not stop.wait(1.0):
        pass


def _run_netbox(args: argparse.Namespace) -> int:
    """Start the lab NetBox, print its access details and wait for a stop signal.

    Args:
        args: Parsed options.

    Returns:
        Exit status.
    """
    with NetBoxLab.start(workers=args.workers, rebuild_template=args.rebuild_template) as lab:
        print(_describe(lab), flush=True)
        _wait_for_stop()
        print("stopping...", flush=True)
    return 0


def _add_netbox_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``netbox`` subcommand.

    Args:
        subparsers: The top-level subparsers.
    """
    parser = subparsers.add_parser("netbox", help="run the lab NetBox until Ctrl-C")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn workers")
    parser.add_argument(
        "--rebuild-template",
        action="store_true",
        help="drop and rebuild the migrated template database first",
    )
    parser.set_defaults(handler=_run_netbox)


def _describe_fleet(fleet: Fleet) -> str:
    """Return the text that tells a person how to reach running simulated devices.

    Args:
        fleet: The running devices.

    Returns:
        Multi-line description.
    """
    first = next(iter(fleet))
    lines = [
        f"{'device':<14} {'NAPALM driver':<14} {'transport':<10} {'address':<22} optional_args"
    ]
    for device in fleet:
        address = f"{device.ip}:{device.port}"
        extras = json.dumps({**device.napalm_extras, "port": device.port})
        lines.append(
            f"{device.name:<14} {device.platform:<14} {device.transport:<10} {address:<22} {extras}"
        )
    lines += [
        f"  login     {first.username} / {first.password}",
        "  Ctrl-C stops them",
    ]
    return "\n".join(lines)


def _run_devices(args: argparse.Namespace) -> int:
    """Start the demo's simulated devices, print how to reach them and wait for a stop signal.

    Args:
        args: Parsed options.

    Returns:
        Exit status.
    """
    from examples.demo_lab import start_demo_fleet

    with start_demo_fleet(first_ip=args.first_ip) as fleet:
        print(_describe_fleet(fleet), flush=True)
        _wait_for_stop()
        print("stopping...", flush=True)
    return 0


def _add_devices_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``devices`` subcommand.

    Args:
        subparsers: The top-level subparsers.
    """
    parser = subparsers.add_parser("devices", help="run the demo's simulated devices until Ctrl-C")
    parser.add_argument(
        "--first-ip",
        default="127.0.20.1",
        help="loopback address of the first device; the others follow it (default 127.0.20.1)",
    )
    parser.set_defaults(handler=_run_devices)


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser.

    Returns:
        The parser, one subcommand per lab component.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_netbox_command(subparsers)
    _add_devices_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the lab command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
