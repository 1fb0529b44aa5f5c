#!/usr/bin/env bash
# The demo in one command, from a fresh clone: install everything (.ci/setup, idempotent),
# then start a lab NetBox and simulated devices and sync them (python -m examples.demo).
#   bash demo.sh              leaves the lab up for a look in the browser until Ctrl-C
#   bash demo.sh --no-wait    stops everything as soon as the sync is done
set -euo pipefail
cd "$(dirname "$0")"

bash .ci/setup
exec .venv/bin/python -m examples.demo "$@"
