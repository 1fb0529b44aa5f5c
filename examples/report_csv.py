"""Write the interface changes of a sync to a CSV file, one row per field, and print a summary.

Uses ``config.yaml`` beside this file (see ``sync.py``)::

    python report_csv.py changes.csv            # dry run: what would change
    python report_csv.py changes.csv --apply    # write to NetBox, report what was written

Columns: device, interface, action (``create``, ``update`` or ``delete``), field, old, new.
A created interface has one row per value it is created with, ``old`` empty; a deleted one has
one row with ``field``, ``old`` and ``new`` empty. The exit status is 1 when a host failed.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from rich import box
from rich.console import Console
from rich.table import Table

from nornir_nb_ifsync import SyncProgress, SyncReport, netbox_update_interfaces

HERE = Path(__file__).resolve().parent
COLUMNS = ("device", "interface", "action", "field", "old", "new")


def build_nornir(config: Path) -> Nornir:
    """Return Nornir built from a ``config.yaml``; relative paths in it start at its folder.

    Args:
        config: Path of the Nornir configuration file.
    """
    config = config.resolve()
    previous = Path.cwd()
    os.chdir(config.parent)
    try:
        return InitNornir(config_file=str(config))
    finally:
        os.chdir(previous)


def cell(value: Any) -> str:
    """Return a value as CSV text: empty for None, ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def change_rows(report: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """Yield the CSV rows of one device's report (``SyncReport.to_dict()``).

    Args:
        report: The report as plain data.
    """
    device = str(report["device"])
    for created in report["created"]:
        name = str(created["name"])
        for field, value in created.items():
            if field != "name":
                yield _row(device, name, "create", field, None, value)
    for updated in report["updated"]:
        for field, change in updated["changes"].items():
            yield _row(device, str(updated["name"]), "update", field, change["old"], change["new"])
    for deleted in report.get("deleted", []):
        yield _row(device, str(deleted["name"]), "delete", "", None, None)


def _row(device: str, name: str, action: str, field: str, old: Any, new: Any) -> dict[str, str]:
    values = (device, name, action, field, cell(old), cell(new))
    return dict(zip(COLUMNS, values, strict=True))


def reports(result: AggregatedResult) -> dict[str, SyncReport | str]:
    """Return each host's report, or the reason it has none (the host failed).

    Args:
        result: The result of ``nr.run(task=netbox_update_interfaces, ...)``.
    """
    found: dict[str, SyncReport | str] = {}
    for host, multi in sorted(result.items()):
        top = multi[0]
        if isinstance(top.result, SyncReport):
            found[host] = top.result
        else:
            lines = str(top.exception or top.result or "failed").strip().splitlines()
            found[host] = lines[-1] if lines else "failed"
    return found


def write_csv(path: Path, by_host: Mapping[str, SyncReport | str]) -> int:
    """Write the change rows of every report; return how many rows were written.

    Args:
        path: CSV file to (over)write.
        by_host: What :func:`reports` returns.
    """
    count = 0
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for report in by_host.values():
            if isinstance(report, SyncReport):
                rows = list(change_rows(report.to_dict()))
                writer.writerows(rows)
                count += len(rows)
    return count


def summary_table(by_host: Mapping[str, SyncReport | str], dry_run: bool) -> Table:
    """Return a table of the counts per device; a status column appears when a host failed.

    ``stale`` counts the interfaces NetBox has and the device did not report.

    Args:
        by_host: What :func:`reports` returns.
        dry_run: Whether the counts are what would be written.
    """
    title = "Interface sync" + (" (dry run: nothing written)" if dry_run else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("device", no_wrap=True)
    for heading in ("create", "update", "delete", "unchanged", "skipped", "stale"):
        table.add_column(heading, justify="right")
    any_failed = any(_failure(report) for report in by_host.values())
    if any_failed:
        table.add_column("status")
    for host, report in by_host.items():
        status = ["[red]failed" if _failure(report) else "ok"] if any_failed else []
        if not isinstance(report, SyncReport):
            table.add_row(host, *([""] * 6), *status)
            continue
        counts = (
            report.created,
            report.updated,
            report.deleted,
            report.unchanged,
            report.skipped,
            report.not_on_device,
        )
        table.add_row(report.device, *(str(len(c)) for c in counts), *status)
    return table


def failures(by_host: Mapping[str, SyncReport | str]) -> dict[str, str]:
    """Return why each failed host failed.

    Args:
        by_host: What :func:`reports` returns.
    """
    return {host: _failure(report) for host, report in by_host.items() if _failure(report)}


def _failure(report: SyncReport | str) -> str:
    return report.error if isinstance(report, SyncReport) else report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sync, write the CSV and print the summary.

    Args:
        argv: Command line arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0, or 1 when a host failed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("csv", type=Path, help="CSV file to write")
    parser.add_argument(
        "--config", type=Path, default=HERE / "config.yaml", help="Nornir configuration file"
    )
    parser.add_argument("--apply", action="store_true", help="write the changes to NetBox")
    parser.add_argument(
        "--stale",
        choices=("ignore", "tag", "disable", "delete"),
        default="ignore",
        help="what to do with NetBox interfaces a device no longer has (default: ignore)",
    )
    args = parser.parse_args(argv)

    nr = build_nornir(args.config)
    try:
        result = nr.with_processors([SyncProgress()]).run(
            task=netbox_update_interfaces, dry_run=not args.apply, stale=args.stale
        )
    finally:
        nr.close_connections()
    by_host = reports(result)
    rows = write_csv(args.csv, by_host)

    console = Console()
    console.print(summary_table(by_host, dry_run=not args.apply))
    for host, reason in failures(by_host).items():
        console.print(f"[red]{host}[/red]: {reason}", highlight=False)
    console.print(f"{rows} row(s), one per changed field, in {args.csv}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
