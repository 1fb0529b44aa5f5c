"""Make the interfaces of your NetBox devices match what the devices report.

Copy this file with ``config.yaml``, ``defaults.yaml`` and ``groups.yaml``, edit those three,
then::

    export NB_URL=https://netbox.example.com NB_TOKEN=0123456789abcdef...
    python sync.py              # dry run: print what would change, write nothing
    python sync.py --apply      # dry run, then write the changes to NetBox
    python sync.py --apply --stale tag    # also tag interfaces the devices no longer have

A host whose dry run failed is not written (Nornir leaves failed hosts out of later runs).
Every write of one invocation carries one run id in NetBox's change log; it is printed at the
end. The exit status is 1 when a host failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from nornir_utils.plugins.functions import print_result

from nornir_nb_ifsync import SyncProgress, netbox_update_interfaces

HERE = Path(__file__).resolve().parent
STALE_CHOICES = ("ignore", "tag", "disable", "delete")


def build_nornir(config: Path) -> Nornir:
    """Return Nornir built from a ``config.yaml``, as ``InitNornir`` does.

    Relative paths in the file (``defaults_file``, ``group_file``, ``log_file``) are taken
    from the file's own folder.

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


def run_sync(
    nr: Nornir, dry_run: bool, stale: str = "ignore", run_id: str | None = None
) -> AggregatedResult:
    """Run the sync on every host, with a progress bar when the output is a terminal.

    Args:
        nr: The Nornir object.
        dry_run: Write nothing, only report what would be written.
        stale: What to do with NetBox interfaces a device no longer has: ``ignore``, ``tag``,
            ``disable`` or ``delete``.
        run_id: The id every host's writes carry in NetBox's change log (default: one per
            host).

    Returns:
        The run's result; ``result[host][0].result`` is the host's ``SyncReport`` and
        ``result[host][0].diff`` the text of its changes.
    """
    progress = SyncProgress()
    try:
        return nr.with_processors([progress]).run(
            task=netbox_update_interfaces, dry_run=dry_run, stale=stale, run_id=run_id
        )
    finally:
        progress.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dry run and, with ``--apply``, the writes.

    Args:
        argv: Command line arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0, or 1 when a host failed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--config", type=Path, default=HERE / "config.yaml", help="Nornir configuration file"
    )
    parser.add_argument("--apply", action="store_true", help="write the changes after the dry run")
    parser.add_argument(
        "--stale",
        choices=STALE_CHOICES,
        default="ignore",
        help="what to do with NetBox interfaces a device no longer has (default: ignore)",
    )
    args = parser.parse_args(argv)

    nr = build_nornir(args.config)
    try:
        plan = run_sync(nr, dry_run=True, stale=args.stale)
        print_result(plan, vars=["diff", "exception"])
        failed = set(plan.failed_hosts)
        changed = [host for host, result in plan.items() if result.changed]
        if args.apply and changed:
            run_id = uuid.uuid4().hex[:12]
            applied = run_sync(nr, dry_run=False, stale=args.stale, run_id=run_id)
            print_result(applied, vars=["diff", "exception"])
            failed |= set(applied.failed_hosts)
            print(f"run id {run_id}: NetBox's change log lists its writes (search for it there)")
        elif not args.apply and changed:
            print(f"{len(changed)} device(s) to change; run again with --apply to write.")
    finally:
        nr.close_connections()
    if failed:
        print(f"failed: {', '.join(sorted(failed))}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
