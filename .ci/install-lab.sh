#!/usr/bin/env bash
# Install what the lab NetBox needs on a Debian machine (idempotent; run as root):
#   - apt packages postgresql and redis-server (apt-get update only when one is missing)
#   - the NetBox virtual environment: netbox==$NETBOX_VERSION on Python >= 3.12 and the
#     branching plugin netboxlabs-netbox-branching==$BRANCHING_VERSION, in
#     ${NB_IFSYNC_LAB_HOME:-$HOME/.cache/nb-ifsync-lab}/netbox-venv
# The PostgreSQL role, the template database and the servers are set up by tests/lab itself.
set -euo pipefail

NETBOX_VERSION="${NETBOX_VERSION:-4.7.3}"
BRANCHING_VERSION="${BRANCHING_VERSION:-1.2.2}"
LAB_HOME="${NB_IFSYNC_LAB_HOME:-$HOME/.cache/nb-ifsync-lab}"
VENV="$LAB_HOME/netbox-venv"

log() { echo "install-lab: $*" >&2; }

install_apt_packages() {
    local missing=()
    command -v pg_lsclusters >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
        || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    if [ "${#missing[@]}" -eq 0 ]; then
        return
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

python_is_312_plus() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local root candidate
    if root="$(pyenv root 2>/dev/null)"; then
        for candidate in "$root"/versions/3.12*/bin/python "$root"/versions/3.13*/bin/python; do
            if [ -x "$candidate" ] && python_is_312_plus "$candidate"; then
                echo "$candidate"
                return
            fi
        done
    fi
    for candidate in python3.13 python3.12; do
        if command -v "$candidate" >/dev/null 2>&1 && python_is_312_plus "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    log "no Python >= 3.12 found (pyenv versions 3.12*/3.13*, python3.13, python3.12)"
    return 1
}

venv_ready() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "
import importlib.metadata as m, django, gunicorn, psycopg, redis
raise SystemExit(m.version('netbox') != '$NETBOX_VERSION'
                 or m.version('netboxlabs-netbox-branching') != '$BRANCHING_VERSION')" >/dev/null 2>&1
}

install_netbox_venv() {
    if venv_ready; then
        log "netbox==$NETBOX_VERSION and its branching plugin already in $VENV"
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(find_python)"
        log "creating $VENV with $python"
        mkdir -p "$LAB_HOME"
        "$python" -m venv "$VENV"
    fi
    log "pip install netbox==$NETBOX_VERSION netboxlabs-netbox-branching==$BRANCHING_VERSION into $VENV"
    # pip warns once per unused local index location; only the other lines are worth reading.
    "$VENV/bin/python" -m pip install -q "netbox==$NETBOX_VERSION" \
        "netboxlabs-netbox-branching==$BRANCHING_VERSION" 2>&1 |
        { grep -v "^WARNING: Location" || true; } >&2
    venv_ready
}

install_apt_packages
install_netbox_venv
log "done"
