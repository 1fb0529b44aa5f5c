"""The demo: a real NetBox, five simulated devices, and one sync from dry run to done.

Run it from the repository's root::

    bash demo.sh                                   # installs everything, then runs this
    .venv/bin/python -m examples.demo              # once installed
    .venv/bin/python -m examples.demo --no-wait    # stop everything as soon as the runs end

It starts the lab (NetBox 4.7.3 on 127.0.0.1, and simulated ios, eos, nxos_ssh, junos and
iosxr_netconf devices on their own 127.0.20.x addresses, reached by NAPALM's real drivers),
puts the devices in NetBox with interfaces that are missing, stale or wrong, writes a
``config.yaml`` like ``examples/config.yaml``, and runs the sync through Nornir as a user
would: a dry run, the writes, and a second run that finds nothing left to change. Then it
leaves the lab up for a look in the browser until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from nornir_utils.plugins.functions import print_result
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from examples.demo_lab import (
    DEMO_DEVICES,
    DEMO_TAG,
    netbox_interfaces,
    seed_netbox,
    start_demo_fleet,
    write_config,
    write_inventory_files,
)
from examples.report_csv import reports, summary_table
from examples.sync import STALE_CHOICES, build_nornir, run_sync
from tests.lab.devices.fleet import Fleet
from tests.lab.netbox_server import NETBOX_VERSION, NetBoxLab
from tests.lab.seed import DEFAULT_MGMT_INTERFACE


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo's three runs did.

    Attributes:
        dry_run: The dry run's result.
        applied: The result of the run that wrote the changes.
        second: The result of the run after it.
        netbox_interfaces: Device name -> names of its interfaces in NetBox after the runs.
        netbox_url: Where the lab NetBox was.
        device_addresses: Device name -> (address, port) of its simulated device.
    """

    dry_run: AggregatedResult
    applied: AggregatedResult
    second: AggregatedResult
    netbox_interfaces: dict[str, set[str]]
    netbox_url: str
    device_addresses: dict[str, tuple[str, int]]

    @property
    def ok(self) -> bool:
        """True when no run failed and the second run found nothing to change."""
        runs = (self.dry_run, self.applied, self.second)
        return not any(r.failed for r in runs) and not any(r.changed for r in self.second.values())


# ------------------------------------------------------------------------------ the demo


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nb-ifsync-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _step(console: Console, number: int, text: str) -> None:
    console.print()
    console.rule(f"[bold]{number}/6  {text}", align="left")


def _start_lab(console: Console, stack: contextlib.ExitStack) -> tuple[NetBoxLab, Fleet]:
    started = time.monotonic()
    with console.status(f"starting NetBox {NETBOX_VERSION} and the simulated devices"):
        fleet = stack.enter_context(start_demo_fleet())
        lab = stack.enter_context(NetBoxLab.start())
    elapsed = time.monotonic() - started
    console.print(f"NetBox {NETBOX_VERSION} at {lab.url}, started in {elapsed:.0f} s")
    table = Table("device", "NAPALM driver", "transport", "address", box=None)
    for device in fleet:
        table.add_row(device.name, device.platform, device.transport, f"{device.ip}:{device.port}")
    console.print(table)
    return lab, fleet


def _describe_seed(console: Console) -> None:
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column()
    for demo in DEMO_DEVICES:
        reported = {i.name for i in demo.device.interfaces}
        seeded = {str(i["name"]) for i in demo.netbox}
        kinds = (
            ("missing", reported - seeded),
            ("wrong", reported & seeded),
            ("stale", (seeded - reported) | {DEFAULT_MGMT_INTERFACE}),
        )
        for number, (kind, names) in enumerate(kinds):
            table.add_row(demo.device.name if number == 0 else "", kind, ", ".join(sorted(names)))
    console.print(table, highlight=False)
    console.print(
        "[dim]missing: the device has it, NetBox not; wrong: NetBox has other values; "
        f"stale: NetBox has it, the device not ({DEFAULT_MGMT_INTERFACE} holds the primary IP "
        "in NetBox)"
    )


_LEGEND = (
    "[dim]+ create, with the values   ~ update a field: old → new   - delete (stale)\n"
    "! not written, and why   = stale, kept, and why   ? in NetBox, not on the device\n"
    "stale={stale!r}: what the sync does with interfaces NetBox has and the device not "
    "(--stale ignore, tag, disable or delete)"
)


def _timed_run(console: Console, nr: Nornir, dry_run: bool, stale: str) -> AggregatedResult:
    started = time.monotonic()
    result = run_sync(nr, dry_run=dry_run, stale=stale)
    console.print(f"[dim]{len(result)} devices in {time.monotonic() - started:.1f} s")
    return result


def _sync(
    console: Console, config: Path, stale: str, stack: contextlib.ExitStack
) -> tuple[AggregatedResult, AggregatedResult, AggregatedResult]:
    nr = build_nornir(config)
    stack.callback(nr.close_connections)

    _step(console, 4, "Dry run: what the sync would write (nothing is written)")
    console.print(_LEGEND.format(stale=stale))
    dry_run = _timed_run(console, nr, True, stale)
    print_result(dry_run, vars=["diff", "exception"])

    _step(console, 5, "Apply: the same sync, written with bulk API calls")
    applied = _timed_run(console, nr, False, stale)
    console.print(summary_table(reports(applied), dry_run=False))

    _step(console, 6, "Run again: nothing is left to change")
    second = _timed_run(console, nr, False, stale)
    print_result(second, vars=["diff", "exception"])
    return dry_run, applied, second


def _summary(console: Console, outcome: DemoOutcome) -> None:
    console.print()
    if outcome.ok:
        console.print("[green]✓ the second run changed nothing: NetBox matches the devices")
        return
    runs = (outcome.dry_run, outcome.applied, outcome.second)
    failed = sorted({host for run in runs for host in run.failed_hosts})
    left = sorted(host for host, result in outcome.second.items() if result.changed)
    console.print(f"[red]✗ failed: {failed or 'none'}; still changing: {left or 'none'}")


def _browse(console: Console, lab: NetBoxLab, config: Path) -> None:
    lines = [
        f"NetBox     {lab.url}",
        f"login      {lab.admin_user} / {lab.admin_password}",
        f"devices    {lab.url}/dcim/devices/?tag={DEMO_TAG}",
        f"changelog  {lab.url}/core/changelog/",
        f"API token  {lab.token_v1}",
        "",
        "Change an interface in NetBox, then put it back with:",
        f"  .venv/bin/python examples/sync.py --apply --config {config}",
    ]
    console.print(Panel("\n".join(lines), title="Have a look", expand=False), highlight=False)


def _wait_for_stop() -> None:
    """Block until SIGINT, SIGTERM or SIGHUP arrives."""
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _handler) for s in _STOP_SIGNALS}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM and SIGHUP (a closed terminal) into Ctrl-C, so the lab is stopped."""
    raise KeyboardInterrupt


def run_demo(
    console: Console | None = None, *, wait: bool = True, stale: str = "ignore"
) -> DemoOutcome:
    """Run the demo and stop everything it started before returning.

    Args:
        console: Where to write the demo's own text (``print_result`` writes to stdout).
        wait: Keep the lab up after the runs until Ctrl-C, SIGTERM or SIGHUP.
        stale: The sync's ``stale`` option: ``ignore``, ``tag``, ``disable`` or ``delete``.

    Returns:
        What the runs did.
    """
    console = console or Console()
    title = "nornir-nb-ifsync: make the interfaces in NetBox match what the devices report"
    console.print(Panel(title, expand=False))
    with contextlib.ExitStack() as stack:
        _step(console, 1, "Lab: a real NetBox and simulated devices on 127.0.20.x")
        lab, fleet = _start_lab(console, stack)

        _step(console, 2, "NetBox before the sync: devices, with interfaces missing, wrong, stale")
        api = lab.api()
        ids = seed_netbox(api, fleet)
        _describe_seed(console)

        _step(console, 3, "Nornir from config.yaml (NetBoxInventory2, RetryRunner)")
        workdir = stack.enter_context(_workdir())
        write_inventory_files(workdir, fleet)
        config = write_config(
            workdir, nb_url=lab.url, nb_token=lab.token_v1, filter_parameters={"tag": DEMO_TAG}
        )
        for path in (config, workdir / "defaults.yaml", workdir / "groups.yaml"):
            console.print(f"[dim]# {path}", highlight=False)
            console.print(Syntax(path.read_text(encoding="utf-8"), "yaml"))

        dry_run, applied, second = _sync(console, config, stale, stack)
        outcome = DemoOutcome(
            dry_run,
            applied,
            second,
            netbox_interfaces(api, ids),
            lab.url,
            {device.name: (device.ip, device.port) for device in fleet},
        )
        _summary(console, outcome)
        if wait:
            _browse(console, lab, config)
            console.print("The lab stays up until Ctrl-C.")
            _wait_for_stop()
        console.print("stopping the lab…")
    console.print("stopped.")
    return outcome


def _exit_now(status: int) -> NoReturn:
    """Exit at once, everything already stopped.

    A Nornir run interrupted by Ctrl-C leaves RetryRunner's worker threads polling their
    queues, and an ordinary exit would wait for them for ever.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo from the command line.

    Args:
        argv: Command line arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 when the sync ended with NetBox matching every device, 1 when not,
        130 when interrupted.
    """
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="stop the lab as soon as the runs are done"
    )
    parser.add_argument(
        "--stale",
        choices=STALE_CHOICES,
        default="ignore",
        help="what the sync does with NetBox interfaces a device no longer has",
    )
    args = parser.parse_args(argv)
    previous = {s: signal.signal(s, _interrupt) for s in _STOP_SIGNALS[1:]}
    try:
        outcome = run_demo(wait=not args.no_wait, stale=args.stale)
    except KeyboardInterrupt:
        print("interrupted; the lab is stopped.", file=sys.stderr)
        _exit_now(130)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
