"""Command line: ``python -m tests.lab.devices serve SPEC.json``.

Runs the servers of a fleet started by :func:`tests.lab.devices.fleet.start_fleet` with
``isolate=True``. Prints one status line on stdout, then serves until SIGTERM, SIGINT or the
end of stdin.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.lab.devices.fleet import serve_spec


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the requested command.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.lab.devices")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the devices of a fleet spec")
    serve.add_argument("spec", type=Path, help="JSON spec written by start_fleet")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    return serve_spec(args.spec)


if __name__ == "__main__":
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
