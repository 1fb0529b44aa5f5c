"""A real NetBox server for the lab, started in seconds from a migrated template database.

The server is the PyPI package ``netbox`` (pinned to :data:`NETBOX_VERSION`), installed into its
own virtual environment under the lab home (``$NB_IFSYNC_LAB_HOME``, default
``~/.cache/nb-ifsync-lab``) because it needs Python >= 3.12. It runs under gunicorn on
127.0.0.1, with a private redis-server and a database of the system PostgreSQL cluster.

The NetBox branching plugin (PyPI ``netboxlabs-netbox-branching``, pinned to
:data:`BRANCHING_VERSION`) is installed beside NetBox and enabled in every lab start, and a
``netbox rqworker`` runs with gunicorn: branches are provisioned by that background worker,
which serves the plugin's queue only (:data:`BRANCHING_QUEUE`).

The first start migrates a database, adds the admin user, its two API tokens and the base seed
(:data:`tests.lab.seed.BASE_SEED`), and keeps it as a template. Every start clones that template
into a fresh database, so each test session begins from the same known NetBox. The template's
name hashes the plugins too; when a template of the same seed without the plugins exists (from
an earlier lab), the new one is built as its copy plus the plugins' migrations: about a minute
instead of the many minutes of migrating an empty database.

Layout of the lab home::

    netbox-venv/            NetBox, the branching plugin and their dependencies
    template.lock           held while a template database is being built
    runs/<run id>/          one lab start: conf/configuration.py, state.json, logs
                            (gunicorn's, the RQ worker's rqworker.log)

Typical use::

    with NetBoxLab.start() as lab:
        nb = lab.api()
        nb.dcim.sites.get(slug="lab")
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import pynetbox
import requests

from .seed import BASE_SEED

logger = logging.getLogger(__name__)

NETBOX_VERSION = "4.7.3"
BRANCHING_VERSION = "1.2.2"
"""``netboxlabs-netbox-branching``: 1.2.x supports NetBox 4.7.0 to 4.7.99."""
PLUGINS = ["netbox_branching"]
BRANCHING_PLUGIN_CONFIG = {"provision_workers": 2}
"""Branch provisioning copies tables with this many database connections: the machine has two
cores."""
BRANCHING_QUEUE = "branching"
"""The RQ queue of the branching plugin's jobs (provision, sync, merge), the only one the lab's
worker serves. NetBox indexes its search cache in the request when no worker serves the
``default`` queue, and in a background job when one does: serving only this queue keeps every
other request exactly as it was without a worker."""
HOME_ENV = "NB_IFSYNC_LAB_HOME"
DEFAULT_HOME = Path.home() / ".cache" / "nb-ifsync-lab"

ADMIN_USER = "admin"
ADMIN_PASSWORD = "nb-ifsync-Lab-2024"
ADMIN_EMAIL = "admin@lab.invalid"
TOKEN_V1 = "6e62696673796e632d6c61622d746f6b656e2d31"
TOKEN_V2_KEY = "nbifsynclab2"
TOKEN_V2_SECRET = "Lab2TokenSecretForNbIfsync0123456789abcd"
TOKEN_V2 = f"nbt_{TOKEN_V2_KEY}.{TOKEN_V2_SECRET}"

DB_ROLE = "nbifsync_lab"
DB_PASSWORD = "nbifsync-lab-db"
SECRET_KEY = "nb-ifsync-lab-secret-key-not-for-production-0123456789abcdef"
API_TOKEN_PEPPERS = {1: "nb-ifsync-lab-token-pepper-not-for-production-0123456789abcdef"}
CUSTOM_VALIDATORS = {"dcim.interface": [{"description": {"regex": "^[^#]*$"}}]}

TEMPLATE_PREFIX = "nbifsync_tpl_"
BUILD_PREFIX = "nbifsync_build_"
RUN_PREFIX = "nbifsync_run_"

ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)s'
"""gunicorn access log line: client, time, request line, status, bytes, duration in ms."""

DEFAULT_WORKERS = 3
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
WORKER_TIMEOUT = 600.0
"""gunicorn's per-request limit: generous, as a bulk write of hundreds of interfaces with MAC
addresses can take minutes on a busy 2-core machine."""
RQWORKER_STOP_GRACE = 0.5
"""Seconds the RQ worker gets to exit on SIGTERM before it is killed: its warm shutdown hangs
for seconds unsubscribing from redis, and a job it is running belongs to the dropped database."""
GUNICORN_STOP_GRACE = 1.0
"""Seconds gunicorn gets to exit on SIGTERM before it is killed: its workers take several
seconds to tear down a preloaded NetBox, and the lab has nothing to save."""

_DB_NAME = re.compile(r"^[a-z0-9_]+$")
_PR_SET_PDEATHSIG = 1

# Run by the NetBox venv's Python with NETBOX_ROOT set; reads its JSON document from stdin.
_BOOTSTRAP_SCRIPT = """
import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import transaction

from dcim.models import DeviceRole, DeviceType, Manufacturer, Platform, Site
from extras.models import Tag
from users.models import Token


def save(obj):
    obj.full_clean()
    obj.save()
    return obj


doc = json.load(sys.stdin)
seed = doc["seed"]
with transaction.atomic():
    admin = doc["admin"]
    user = get_user_model().objects.create_superuser(
        admin["username"], admin["email"], admin["password"]
    )
    save(Token(version=1, user=user, token=doc["token_v1"], description="lab v1"))
    save(Token(version=2, user=user, key=doc["token_v2_key"], token=doc["token_v2_secret"],
               description="lab v2"))
    save(Site(name=seed["site"]["name"], slug=seed["site"]["slug"], status="active"))
    save(DeviceRole(name=seed["role"]["name"], slug=seed["role"]["slug"], color="2196f3"))
    makers = {m["slug"]: save(Manufacturer(**m)) for m in seed["manufacturers"]}
    for dt in seed["device_types"]:
        save(DeviceType(manufacturer=makers[dt["manufacturer"]], model=dt["model"],
                        slug=dt["slug"]))
    for p in seed["platforms"]:
        save(Platform(name=p["name"], slug=p["slug"], manufacturer=makers[p["manufacturer"]]))
    for tag in seed["tags"]:
        save(Tag(name=tag["name"], slug=tag["slug"]))
"""


class LabError(RuntimeError):
    """The lab could not be set up or started."""


# --------------------------------------------------------------------------- paths and venv


@dataclass(frozen=True)
class LabPaths:
    """Where the lab keeps its files.

    Attributes:
        home: The lab home directory.
    """

    home: Path

    @classmethod
    def from_env(cls) -> LabPaths:
        """Return the paths for ``$NB_IFSYNC_LAB_HOME`` (default ``~/.cache/nb-ifsync-lab``).

        Returns:
            The lab paths.
        """
        value = os.environ.get(HOME_ENV)
        return cls(Path(value).expanduser() if value else DEFAULT_HOME)

    @property
    def venv(self) -> Path:
        """The NetBox virtual environment."""
        return self.home / "netbox-venv"

    @property
    def python(self) -> Path:
        """The NetBox virtual environment's interpreter."""
        return self.venv / "bin" / "python"

    @property
    def runs(self) -> Path:
        """Parent of the per-start run directories."""
        return self.home / "runs"

    @property
    def template_lock(self) -> Path:
        """Lock file held while a template database is built."""
        return self.home / "template.lock"

    def bin(self, name: str) -> Path:
        """Return the path of an executable of the NetBox virtual environment.

        Args:
            name: Executable name, e.g. ``"gunicorn"``.

        Returns:
            Its path.
        """
        return self.venv / "bin" / name


def _python_candidates() -> list[Path]:
    """List interpreters that may be Python >= 3.12, most preferred first.

    Returns:
        pyenv's 3.12/3.13 installs, then ``python3.13`` and ``python3.12`` found on PATH.
    """
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        root = subprocess.run(
            ["pyenv", "root"], check=True, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        for pattern in ("3.12*", "3.13*"):
            candidates += sorted((Path(root) / "versions").glob(f"{pattern}/bin/python"))
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    return candidates


def _is_python_312_plus(python: Path) -> bool:
    """Tell whether an interpreter runs and is Python >= 3.12.

    Args:
        python: Interpreter path.

    Returns:
        True when it is usable for NetBox.
    """
    check = "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"
    try:
        result = subprocess.run(
            [str(python), "-c", check], check=False, capture_output=True, timeout=30
        )
    except OSError:
        return False
    return result.returncode == 0


def find_netbox_python() -> Path:
    """Find an interpreter able to run NetBox (Python >= 3.12).

    Returns:
        The first usable candidate.

    Raises:
        LabError: None found.
    """
    for candidate in _python_candidates():
        if _is_python_312_plus(candidate):
            return candidate
    raise LabError("no Python >= 3.12 found (tried pyenv versions, python3.13, python3.12)")


def netbox_venv_ready(paths: LabPaths) -> bool:
    """Tell whether the NetBox venv holds the pinned NetBox and its server dependencies.

    Args:
        paths: The lab paths.

    Returns:
        True when nothing needs installing.
    """
    if not paths.python.exists():
        return False
    check = (
        "import importlib.metadata as m, importlib.util as u; "
        "assert all(u.find_spec(n) for n in ('django', 'gunicorn', 'psycopg', 'redis')); "
        f"raise SystemExit(m.version('netbox') != {NETBOX_VERSION!r} "
        f"or m.version('netboxlabs-netbox-branching') != {BRANCHING_VERSION!r})"
    )
    result = subprocess.run(
        [str(paths.python), "-c", check], check=False, capture_output=True, timeout=120
    )
    return result.returncode == 0


def ensure_netbox_venv(paths: LabPaths) -> bool:
    """Create the NetBox venv and install the pinned NetBox and plugin, unless already done.

    Args:
        paths: The lab paths.

    Returns:
        True when this call installed something.
    """
    if netbox_venv_ready(paths):
        return False
    started = time.monotonic()
    if not paths.python.exists():
        base = find_netbox_python()
        logger.info("creating the NetBox venv %s with %s", paths.venv, base)
        subprocess.run([str(base), "-m", "venv", str(paths.venv)], check=True)
    logger.info("installing netbox==%s into %s (takes minutes)", NETBOX_VERSION, paths.venv)
    packages = [f"netbox=={NETBOX_VERSION}", f"netboxlabs-netbox-branching=={BRANCHING_VERSION}"]
    subprocess.run([str(paths.python), "-m", "pip", "install", "-q", *packages], check=True)
    logger.info("NetBox venv ready in %.1fs", time.monotonic() - started)
    return True


# --------------------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PgCluster:
    """A PostgreSQL cluster as ``pg_lsclusters`` lists it.

    Attributes:
        version: Major version, e.g. ``"15"``.
        name: Cluster name, e.g. ``"main"``.
        port: TCP port.
        online: Whether it is running.
    """

    version: str
    name: str
    port: int
    online: bool


def list_clusters() -> list[PgCluster]:
    """List the machine's PostgreSQL clusters.

    Returns:
        The clusters, in ``pg_lsclusters`` order.

    Raises:
        LabError: The Debian PostgreSQL tools are missing.
    """
    if shutil.which("pg_lsclusters") is None:
        raise LabError("pg_lsclusters not found: install PostgreSQL (.ci/install-lab.sh)")
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True
    ).stdout
    clusters = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4:
            clusters.append(PgCluster(cols[0], cols[1], int(cols[2]), cols[3] == "online"))
    return clusters


def _pick_cluster(clusters: list[PgCluster]) -> PgCluster:
    """Pick the cluster the lab uses: a running one, else the newest version.

    Args:
        clusters: The machine's clusters.

    Returns:
        The chosen cluster.

    Raises:
        LabError: There is none.
    """
    if not clusters:
        raise LabError("no PostgreSQL cluster exists (pg_lsclusters lists none)")
    online = [c for c in clusters if c.online]
    if online:
        return online[0]
    return max(clusters, key=lambda c: int(c.version) if c.version.isdigit() else 0)


def ensure_cluster_running() -> PgCluster:
    """Return the lab's PostgreSQL cluster, starting it when it is down.

    Returns:
        The running cluster.

    Raises:
        LabError: It did not come up.
    """
    cluster = _pick_cluster(list_clusters())
    if cluster.online:
        return cluster
    logger.info("starting PostgreSQL cluster %s/%s", cluster.version, cluster.name)
    started = subprocess.run(["pg_ctlcluster", cluster.version, cluster.name, "start"], check=False)
    if started.returncode != 0:
        subprocess.run(["service", "postgresql", "start"], check=False)
    cluster = _pick_cluster(list_clusters())
    if not cluster.online:
        raise LabError(f"PostgreSQL cluster {cluster.version}/{cluster.name} did not start")
    return cluster


def _quote_db(name: str) -> str:
    """Quote a lab database name for SQL, refusing anything but ``[a-z0-9_]``.

    Args:
        name: Database name.

    Returns:
        The double-quoted identifier.

    Raises:
        ValueError: The name has other characters.
    """
    if not _DB_NAME.match(name):
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


class Postgres:
    """The lab's view of the PostgreSQL cluster: its own role, over TCP on 127.0.0.1.

    Args:
        cluster: The running cluster.
    """

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster

    @classmethod
    def connect(cls) -> Postgres:
        """Start the cluster if needed and make sure the lab role can log in.

        Returns:
            A ready :class:`Postgres`.
        """
        pg = cls(ensure_cluster_running())
        if not pg.can_login():
            pg.create_role()
        return pg

    @property
    def port(self) -> int:
        """The cluster's TCP port."""
        return self.cluster.port

    def _psql_cmd(self, sql: str, database: str) -> list[str]:
        return [
            "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", DB_ROLE, "-d", database, "-c", sql,
        ]  # fmt: skip

    def psql(self, sql: str, database: str = "postgres") -> list[str]:
        """Run SQL as the lab role.

        Args:
            sql: One or more statements.
            database: Database to connect to.

        Returns:
            The output lines (unaligned, tuples only).

        Raises:
            LabError: psql failed.
        """
        env = {**os.environ, "PGPASSWORD": DB_PASSWORD, "PGCONNECT_TIMEOUT": "10"}
        result = subprocess.run(
            self._psql_cmd(sql, database), env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise LabError(f"psql failed ({sql!r}): {result.stderr.strip()}")
        return [line for line in result.stdout.splitlines() if line]

    def can_login(self) -> bool:
        """Tell whether the lab role can log in with its password.

        Returns:
            True when it can.
        """
        try:
            self.psql("SELECT 1")
        except LabError:
            return False
        return True

    def create_role(self) -> None:
        """Create (or reset) the lab role as the ``postgres`` superuser.

        Raises:
            LabError: Neither root nor passwordless sudo was available.
        """
        sql = (
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{DB_ROLE}') THEN "
            f"ALTER ROLE {DB_ROLE} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'; ELSE "
            f"CREATE ROLE {DB_ROLE} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'; END IF; END $$;"
        )
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", str(self.port), "-c", sql]
        runner = (
            ["runuser", "-u", "postgres", "--"]
            if os.geteuid() == 0
            else ["sudo", "-n", "-u", "postgres"]
        )
        logger.info("creating PostgreSQL role %s", DB_ROLE)
        result = subprocess.run([*runner, *psql], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LabError(f"cannot create role {DB_ROLE}: {result.stderr.strip()}")

    def databases(self, prefix: str) -> list[str]:
        """List databases whose name starts with ``prefix``.

        Args:
            prefix: Name prefix (no SQL wildcards).

        Returns:
            The names, sorted.
        """
        rows = self.psql("SELECT datname FROM pg_database ORDER BY datname")
        return [name for name in rows if name.startswith(prefix)]

    def exists(self, name: str) -> bool:
        """Tell whether a database exists.

        Args:
            name: Database name.

        Returns:
            True when it does.
        """
        return name in self.psql("SELECT datname FROM pg_database")

    def create(self, name: str, template: str | None = None) -> None:
        """Create a database, empty or as a copy of ``template``.

        Args:
            name: New database name.
            template: Database to copy, or None.
        """
        sql = f"CREATE DATABASE {_quote_db(name)}"
        if template is not None:
            sql += f" TEMPLATE {_quote_db(template)}"
        self.psql(sql)

    def drop(self, name: str) -> None:
        """Drop a database if it exists, disconnecting its sessions.

        Args:
            name: Database name.
        """
        self.psql(f"DROP DATABASE IF EXISTS {_quote_db(name)} WITH (FORCE)")

    def disconnect(self, name: str) -> None:
        """Terminate the lab role's sessions on a database (e.g. of an orphaned build step).

        Args:
            name: Database name.
        """
        self.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            database=name,
        )

    def rename(self, old: str, new: str) -> None:
        """Rename a database.

        Args:
            old: Current name.
            new: New name.
        """
        self.psql(f"ALTER DATABASE {_quote_db(old)} RENAME TO {_quote_db(new)}")


# --------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """Tell whether a process exists.

    Args:
        pid: Process id.

    Returns:
        True when it exists.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_ticks(pid: int) -> int | None:
    """Return a process's start time (clock ticks since boot), to tell reused pids apart.

    Args:
        pid: Process id.

    Returns:
        The start time, or None when the process is gone.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _children(pid: int) -> list[int]:
    """List the direct children of a process.

    Args:
        pid: Parent process id.

    Returns:
        Child pids.
    """
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _pss_bytes(pid: int) -> int:
    """Return a process's proportional set size.

    Args:
        pid: Process id.

    Returns:
        PSS in bytes (0 when unavailable).
    """
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


class ManagedProcess:
    """A server process the lab started, in its own session, stopped by signalling its group.

    Args:
        name: Short name for logs.
        cmd: Command line.
        cwd: Working directory (also how leftovers of a crashed run are recognised).
        env: Environment.
        log_file: Where stdout and stderr go.
        stdin_file: File fed to standard input (default: none).
    """

    def __init__(
        self,
        name: str,
        cmd: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        log_file: Path,
        stdin_file: Path | None = None,
    ) -> None:
        self.name = name
        self.log_file = log_file
        preexec = _die_with_parent if sys.platform == "linux" else None
        with contextlib.ExitStack() as files:
            out = files.enter_context(log_file.open("ab"))
            stdin = files.enter_context(stdin_file.open("rb")) if stdin_file else None
            self.popen = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,  # noqa: PLW1509
            )
        self.pid = self.popen.pid

    def running(self) -> bool:
        """Tell whether the process is still running.

        Returns:
            True while it runs.
        """
        return self.popen.poll() is None

    def wait(self) -> int:
        """Wait for the process to exit.

        Returns:
            Its exit status.
        """
        return self.popen.wait()

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the process's log.

        Args:
            lines: How many lines.

        Returns:
            The last lines.
        """
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process group, then SIGKILL it after ``timeout`` seconds.

        Args:
            timeout: Grace period in seconds.
        """
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.debug("%s (pid %d) still running; killing it", self.name, self.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait()


def _kill_leftover(pid: int, run_dir: Path) -> None:
    """Kill the process group of a crashed run's server, if that pid is still one of its.

    Args:
        pid: Recorded pid of a server process.
        run_dir: The crashed run's directory, the process's working directory.
    """
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return
    if cwd != run_dir:
        return
    logger.info("killing leftover process group %d of %s", pid, run_dir.name)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- redis


def redis_command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command to a redis server and return its raw reply.

    Args:
        port: Server port on 127.0.0.1.
        *args: Command and arguments.
        timeout: Socket timeout in seconds.

    Returns:
        The reply bytes (e.g. ``b"+PONG\\r\\n"``).
    """
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(parts))
        return sock.recv(65536)


def start_redis(run_dir: Path, env: dict[str, str]) -> tuple[ManagedProcess, int]:
    """Start a private redis-server on 127.0.0.1 without persistence.

    Args:
        run_dir: Working directory and log location.
        env: Environment for the process.

    Returns:
        The process and its port.

    Raises:
        LabError: It did not answer PING.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise LabError("redis-server not found: install it (.ci/install-lab.sh)")
    port = free_port()
    cmd = [
        binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(run_dir), "--daemonize", "no", "--logfile", "",
    ]  # fmt: skip
    proc = ManagedProcess("redis", cmd, cwd=run_dir, env=env, log_file=run_dir / "redis.log")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.running():
        with contextlib.suppress(OSError):
            if redis_command(port, "PING").startswith(b"+PONG"):
                return proc, port
        time.sleep(0.05)
    proc.stop()
    raise LabError(f"redis-server did not start:\n{proc.log_tail()}")


# --------------------------------------------------------------------------- configuration


def template_digest(*, plugins: bool = True) -> str:
    """Hash everything that ends up in the template database.

    Args:
        plugins: Include the plugins (their names and the branching plugin's version); False
            gives the digest of the same template without plugins.

    Returns:
        A hex digest over the NetBox version, admin credentials, tokens, peppers, base seed,
        the bootstrap script and the plugins.
    """
    material: dict[str, Any] = {
        "netbox": NETBOX_VERSION,
        "admin": [ADMIN_USER, ADMIN_PASSWORD, ADMIN_EMAIL],
        "tokens": [TOKEN_V1, TOKEN_V2],
        "peppers": {str(k): v for k, v in API_TOKEN_PEPPERS.items()},
        "seed": BASE_SEED.as_document(),
        "bootstrap": _BOOTSTRAP_SCRIPT,
    }
    if plugins:
        material["plugins"] = {"names": PLUGINS, "netbox_branching": BRANCHING_VERSION}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def template_name(*, plugins: bool = True) -> str:
    """Name of the template database for this NetBox version, seed and plugins.

    Args:
        plugins: False names the template of the same seed without plugins, which a new
            template is copied from when it exists.

    Returns:
        E.g. ``nbifsync_tpl_4_7_3_0123456789ab``.
    """
    digest = template_digest(plugins=plugins)[:12]
    return f"{TEMPLATE_PREFIX}{NETBOX_VERSION.replace('.', '_')}_{digest}"


def render_configuration(*, database: str, pg_port: int, redis_port: int) -> str:
    """Render NetBox's ``configuration.py`` for one lab run.

    Args:
        database: Database name.
        pg_port: PostgreSQL port on 127.0.0.1.
        redis_port: The lab redis-server's port on 127.0.0.1.

    Returns:
        The module's source.
    """
    redis = {"HOST": "127.0.0.1", "PORT": redis_port, "USERNAME": "", "PASSWORD": "", "SSL": False}
    values: dict[str, Any] = {
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": database,
                "USER": DB_ROLE,
                "PASSWORD": DB_PASSWORD,
                "HOST": "127.0.0.1",
                "PORT": pg_port,
                "CONN_MAX_AGE": 300,
            }
        },
        "DATABASE_ROUTERS": ["netbox_branching.database.BranchAwareRouter"],
        "PLUGINS": PLUGINS,
        "PLUGINS_CONFIG": {"netbox_branching": BRANCHING_PLUGIN_CONFIG},
        "QUEUE_MAPPINGS": {"branch": BRANCHING_QUEUE},
        "REDIS": {"tasks": {**redis, "DATABASE": 0}, "caching": {**redis, "DATABASE": 1}},
        "SECRET_KEY": SECRET_KEY,
        "API_TOKEN_PEPPERS": API_TOKEN_PEPPERS,
        "CENSUS_REPORTING_ENABLED": False,
        "ISOLATED_DEPLOYMENT": True,
        "CUSTOM_VALIDATORS": CUSTOM_VALIDATORS,
        "DEBUG": False,
        "TIME_ZONE": "UTC",
    }
    lines = ['"""NetBox configuration of one nb-ifsync lab run."""', ""]
    lines += [f"{key} = {value!r}" for key, value in values.items()]
    lines += ["", _BRANCHING_DATABASES]
    return "\n".join(lines) + "\n"


# The branching plugin needs DATABASES as its DynamicSchemaDict (one connection alias per branch
# schema). NetBox's venv always has the plugin; elsewhere (e.g. a test reading the rendered
# file) the plain dict stays.
_BRANCHING_DATABASES = """\
try:
    from netbox_branching.utilities import DynamicSchemaDict
except ImportError:
    pass
else:
    DATABASES = DynamicSchemaDict(DATABASES)"""


def write_instance(root: Path, configuration: str) -> None:
    """Write a NetBox instance root (``NETBOX_ROOT``): ``conf/`` with the configuration.

    Args:
        root: Instance root directory.
        configuration: Source of ``configuration.py``.
    """
    conf = root / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "__init__.py").write_text("")
    (conf / "configuration.py").write_text(configuration)


def netbox_env(root: Path) -> dict[str, str]:
    """Return the environment for NetBox processes of one instance root.

    Args:
        root: Instance root (``NETBOX_ROOT``).

    Returns:
        The current environment without Python path overrides, plus NetBox's variables.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NETBOX_CONFIGURATION"}
    }
    env["NETBOX_ROOT"] = str(root)
    env["DJANGO_SETTINGS_MODULE"] = "netbox.settings"
    return env


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on a file.

    Args:
        path: Lock file (created if missing).

    Yields:
        Nothing; the lock is held inside the ``with`` block.
    """
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- run state


@dataclass
class RunState:
    """What ``runs/<id>/state.json`` records, so a later start can clean up after a crash.

    Attributes:
        owner_pid: Pid of the process that started the run.
        owner_ticks: That process's start time, to tell a reused pid apart.
        database: The run's database.
        pids: Pids of the servers started (each leads its own process group).
        stopped: Set once the run was stopped cleanly.
    """

    owner_pid: int
    owner_ticks: int | None
    database: str
    pids: list[int] = field(default_factory=list)
    stopped: bool = False

    def save(self, run_dir: Path) -> None:
        """Write the state atomically.

        Args:
            run_dir: The run directory.
        """
        tmp = run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(self.__dict__))
        tmp.replace(run_dir / "state.json")

    @classmethod
    def load(cls, run_dir: Path) -> RunState | None:
        """Read a run's state.

        Args:
            run_dir: The run directory.

        Returns:
            The state, or None when missing or unreadable.
        """
        try:
            return cls(**json.loads((run_dir / "state.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def owner_alive(self) -> bool:
        """Tell whether the process that started the run still exists.

        Returns:
            True while it does.
        """
        return _pid_alive(self.owner_pid) and _start_ticks(self.owner_pid) == self.owner_ticks


def cleanup_stale_runs(paths: LabPaths, pg: Postgres) -> None:
    """Remove what crashed earlier runs left: processes, run directories, cloned databases.

    A run is stale when the process that started it is gone. Cloned databases that no live run
    claims are dropped too.

    Args:
        paths: The lab paths.
        pg: The cluster.
    """
    clones = pg.databases(RUN_PREFIX)
    claimed: set[str] = set()
    for run_dir in sorted(p for p in paths.runs.glob("*") if p.is_dir()):
        state = RunState.load(run_dir)
        if state is None:
            if time.time() - run_dir.stat().st_mtime > 60:
                shutil.rmtree(run_dir, ignore_errors=True)
            continue
        if state.owner_alive():
            claimed.add(state.database)
            continue
        for pid in state.pids:
            _kill_leftover(pid, run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
    for name in clones:
        if name not in claimed:
            logger.info("dropping stale lab database %s", name)
            pg.drop(name)


# --------------------------------------------------------------------------- the lab


_LIVE_LABS: set[NetBoxLab] = set()
_HOOKS: dict[str, bool] = {}


def _stop_live_labs() -> None:
    """Stop every lab of this process that is still running."""
    for lab in list(_LIVE_LABS):
        lab.stop()


def _on_sigterm(previous: Any, signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: stop the labs, then do what the previous handler would have done.

    Args:
        previous: The handler installed before the lab's.
        signum: The signal.
        frame: The interrupted frame.
    """
    _stop_live_labs()
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    """Stop the labs at interpreter exit and on SIGTERM (installed once)."""
    if _HOOKS.get("installed"):
        return
    _HOOKS["installed"] = True
    atexit.register(_stop_live_labs)
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, functools.partial(_on_sigterm, previous))


class NetBoxLab:
    """A running lab NetBox: gunicorn + private redis + a fresh clone of the template database.

    Create it with :meth:`start`; stop it with :meth:`stop` or by using it as a context manager.
    Everything it starts is stopped by :meth:`stop`, at interpreter exit, on SIGTERM, and (on
    Linux) when the starting process dies.

    Args:
        workers: gunicorn worker processes.
        paths: Lab paths (default: from ``$NB_IFSYNC_LAB_HOME``).
        rebuild_template: Drop and rebuild the template database first.
    """

    admin_user = ADMIN_USER
    admin_password = ADMIN_PASSWORD
    token_v1 = TOKEN_V1
    token_v2 = TOKEN_V2

    def __init__(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        paths: LabPaths | None = None,
        rebuild_template: bool = False,
    ) -> None:
        self.paths = paths or LabPaths.from_env()
        self.workers = workers
        self.rebuild_template = rebuild_template
        self.run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.run_dir = self.paths.runs / self.run_id
        self.database = f"{RUN_PREFIX}{self.run_id.replace('-', '_')}"
        self.template = template_name()
        self.port = 0
        self.redis_port = 0
        self.template_built = False
        self._cloned = False
        self.timings: dict[str, float] = {}
        self._pg: Postgres | None = None
        self._state: RunState | None = None
        self._redis: ManagedProcess | None = None
        self._gunicorn: ManagedProcess | None = None
        self._rqworker: ManagedProcess | None = None
        self._builder: ManagedProcess | None = None
        self._stopped = False

    # ---------------------------------------------------------------- public API

    @classmethod
    def start(
        cls,
        *,
        workers: int = DEFAULT_WORKERS,
        paths: LabPaths | None = None,
        rebuild_template: bool = False,
    ) -> Self:
        """Start a lab NetBox and wait until its API answers.

        Args:
            workers: gunicorn worker processes.
            paths: Lab paths (default: from ``$NB_IFSYNC_LAB_HOME``).
            rebuild_template: Drop and rebuild the template database first.

        Returns:
            The running lab.
        """
        lab = cls(workers=workers, paths=paths, rebuild_template=rebuild_template)
        lab._start()
        return lab

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        """gunicorn's access log: one line per request, in :data:`ACCESS_LOG_FORMAT`."""
        return self.run_dir / "access.log"

    @property
    def error_log(self) -> Path:
        """gunicorn's error log (startup, worker lifecycle, tracebacks)."""
        return self.run_dir / "gunicorn.log"

    @property
    def rqworker_log(self) -> Path:
        """The RQ worker's output: the background jobs it ran (branch provisioning)."""
        return self.run_dir / "rqworker.log"

    def rqworker_running(self) -> bool:
        """Tell whether the RQ worker, which provisions branches, is running.

        Returns:
            True while it runs.
        """
        return self._rqworker is not None and self._rqworker.running()

    @property
    def cloned_from_template(self) -> bool:
        """True when this start found the template already built and only cloned it."""
        return self._cloned and not self.template_built

    def api(self, token: str | None = None) -> pynetbox.api:
        """Return a pynetbox API for this server.

        Args:
            token: API token (default: the classic v1 token); pass :attr:`token_v2` for v2.

        Returns:
            The API object.
        """
        return pynetbox.api(self.url, token=token or self.token_v1)

    def memory_usage(self) -> dict[str, int]:
        """Return the servers' memory use (proportional set size, bytes).

        Returns:
            ``{"gunicorn": ..., "rqworker": ..., "redis": ..., "total": ...}``; gunicorn counts
            master and workers, rqworker the worker and the job it may be running.
        """
        usage = {"gunicorn": 0, "rqworker": 0, "redis": 0}
        for name, proc in (("gunicorn", self._gunicorn), ("rqworker", self._rqworker)):
            if proc is not None and proc.running():
                pids = [proc.pid, *_children(proc.pid)]
                usage[name] = sum(_pss_bytes(pid) for pid in pids)
        if self._redis is not None and self._redis.running():
            usage["redis"] = _pss_bytes(self._redis.pid)
        usage["total"] = usage["gunicorn"] + usage["rqworker"] + usage["redis"]
        return usage

    def stop(self) -> None:
        """Stop gunicorn, the RQ worker and redis and drop the cloned database (idempotent).

        The run directory with its logs stays until a later start cleans it up. A template
        build interrupted by the stop is left for the next start to resume.
        """
        if self._stopped:
            return
        self._stopped = True
        _LIVE_LABS.discard(self)
        started = time.monotonic()
        if self._gunicorn is not None:
            self._gunicorn.stop(GUNICORN_STOP_GRACE)
        if self._rqworker is not None:
            self._rqworker.stop(RQWORKER_STOP_GRACE)
        for proc in (self._builder, self._redis):
            if proc is not None:
                proc.stop()
        if self._pg is not None:
            try:
                self._pg.drop(self.database)
            except LabError:
                logger.exception("could not drop %s", self.database)
        if self._state is not None:
            self._state.stopped = True
            self._state.save(self.run_dir)
        logger.info("NetBox lab %s stopped in %.1fs", self.run_id, time.monotonic() - started)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- start-up steps

    def _timed(self, step: str, func: Callable[[], Any]) -> Any:
        """Run one start-up step, record and log its duration.

        Args:
            step: Step name for :attr:`timings`.
            func: The step.

        Returns:
            What the step returned.
        """
        started = time.monotonic()
        result = func()
        self.timings[step] = round(time.monotonic() - started, 2)
        logger.info("lab %s: %s took %.2fs", self.run_id, step, self.timings[step])
        return result

    def _start(self) -> None:
        """Run all start-up steps; on failure stop what was started and re-raise."""
        started = time.monotonic()
        _LIVE_LABS.add(self)
        _install_exit_hooks()
        try:
            self._timed("venv", lambda: ensure_netbox_venv(self.paths))
            self._pg = self._timed("postgres", Postgres.connect)
            self._timed("cleanup", lambda: cleanup_stale_runs(self.paths, self.pg))
            self._create_run_dir()
            self._timed("redis", self._start_redis)
            self.template_built = self._timed("template", self._ensure_template)
            self._timed("clone", self._clone_template)
            redis_command(self.redis_port, "FLUSHALL")
            self._timed("servers", self._start_servers)
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = round(time.monotonic() - started, 2)
        memory = self.memory_usage()
        logger.info(
            "NetBox lab ready at %s in %.1fs (template %s %s, memory %.0f MiB)",
            self.url,
            self.timings["total"],
            self.template,
            "built" if self.template_built else "reused",
            memory["total"] / 2**20,
        )

    @property
    def pg(self) -> Postgres:
        """The PostgreSQL cluster (available once the start reached it)."""
        if self._pg is None:
            raise LabError("the lab has not connected to PostgreSQL")
        return self._pg

    def _create_run_dir(self) -> None:
        """Create the run directory and record the run's state in it."""
        self.run_dir.mkdir(parents=True)
        self._state = RunState(os.getpid(), _start_ticks(os.getpid()), self.database)
        self._state.save(self.run_dir)

    def _record_pid(self, pid: int) -> None:
        """Add a server pid to the run state.

        Args:
            pid: The server's pid.
        """
        if self._state is not None:
            self._state.pids.append(pid)
            self._state.save(self.run_dir)

    def _start_redis(self) -> None:
        """Start the private redis-server."""
        self._redis, self.redis_port = start_redis(self.run_dir, netbox_env(self.run_dir))
        self._record_pid(self._redis.pid)

    def _ensure_template(self) -> bool:
        """Build the template database unless it exists (under the lab's lock).

        Returns:
            True when this call built it.
        """
        if not self.rebuild_template and self.pg.exists(self.template):
            return False
        with _file_lock(self.paths.template_lock):
            if self.rebuild_template:
                self.pg.drop(self.template)
            if self.pg.exists(self.template):
                return False
            build = f"{BUILD_PREFIX}{self.template.removeprefix(TEMPLATE_PREFIX)}"
            resume = self._adopt_half_built(build)
            self._build_template(build, resume=resume)
            return True

    def _adopt_half_built(self, build: str) -> bool:
        """Keep an interrupted build of this template to resume it; drop other builds.

        Args:
            build: Name of this template's build database.

        Returns:
            True when a half-built database named ``build`` is there to resume.
        """
        resume = False
        for name in self.pg.databases(BUILD_PREFIX):
            if not resume and name.startswith(build):
                self.pg.disconnect(name)
                if name != build:
                    self.pg.rename(name, build)
                resume = True
            else:
                logger.info("dropping half-built template %s", name)
                self.pg.drop(name)
        return resume

    def _build_template(self, build: str, *, resume: bool) -> None:
        """Migrate ``build``, bootstrap admin, tokens and seed, then rename it to the template.

        When the template of the same seed without plugins exists (and no rebuild was asked
        for), ``build`` starts as its copy: migrating then only applies the plugins'
        migrations, and the bootstrap is already done.

        Args:
            build: Name of the build database.
            resume: The database exists from an interrupted build; continue migrating it.
        """
        root = self.run_dir / "template-build"
        config = render_configuration(
            database=build, pg_port=self.pg.port, redis_port=self.redis_port
        )
        write_instance(root, config)
        base = template_name(plugins=False)
        if resume:
            logger.info("resuming the half-built template database %s", build)
        elif not self.rebuild_template and self.pg.exists(base):
            logger.info("building template database %s from %s plus the plugins", build, base)
            self.pg.create(build, template=base)
        else:
            logger.info("building template database %s (first start: minutes)", build)
            self.pg.create(build)
        try:
            self._timed("migrate", lambda: self._migrate(root))
        except LabError:
            if not resume:
                raise
            logger.warning("resuming %s failed; building it from scratch", build)
            self.pg.drop(build)
            self.pg.create(build)
            self._timed("migrate", lambda: self._migrate(root))
        if ADMIN_USER not in self.pg.psql("SELECT username FROM users_user", build):
            self._timed("bootstrap", lambda: self._bootstrap(root))
        self.pg.rename(build, self.template)
        redis_command(self.redis_port, "FLUSHALL")

    def _clone_template(self) -> None:
        """Create the run's database as a copy of the template."""
        self.pg.create(self.database, template=self.template)
        self._cloned = True

    def _run_build_step(
        self, name: str, cmd: list[str], root: Path, stdin_file: Path | None = None
    ) -> None:
        """Run one template build command to completion, stoppable by :meth:`stop`.

        Args:
            name: Step name; its output goes to ``root/<name>.log``.
            cmd: Command line.
            root: Instance root of the build.
            stdin_file: File fed to the command's standard input.

        Raises:
            LabError: The command failed.
        """
        self._builder = ManagedProcess(
            name,
            cmd,
            cwd=self.run_dir,
            env=netbox_env(root),
            log_file=root / f"{name}.log",
            stdin_file=stdin_file,
        )
        self._record_pid(self._builder.pid)
        status = self._builder.wait()
        tail = self._builder.log_tail(30)
        self._builder = None
        if status != 0:
            raise LabError(f"template build step {name} failed ({status}):\n{tail}")

    def _migrate(self, root: Path) -> None:
        """Apply NetBox's database migrations to the build database.

        Args:
            root: Instance root of the build.
        """
        self._run_build_step(
            "migrate", [str(self.paths.bin("netbox")), "migrate", "--no-input"], root
        )

    def _bootstrap(self, root: Path) -> None:
        """Create the admin user, its tokens and the base seed in the build database.

        Args:
            root: Instance root of the build.
        """
        document = {
            "admin": {"username": ADMIN_USER, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            "token_v1": TOKEN_V1,
            "token_v2_key": TOKEN_V2_KEY,
            "token_v2_secret": TOKEN_V2_SECRET,
            "seed": BASE_SEED.as_document(),
        }
        data = root / "bootstrap.json"
        data.write_text(json.dumps(document))
        cmd = [str(self.paths.python), "-c", _BOOTSTRAP_SCRIPT]
        self._run_build_step("bootstrap", cmd, root, stdin_file=data)

    def _gunicorn_cmd(self) -> list[str]:
        """Return gunicorn's command line for this run.

        The application is preloaded: NetBox is imported once in the master (the slowest part of
        a start) and the workers are forked from it, sharing that memory.

        Returns:
            The command.
        """
        return [
            str(self.paths.bin("gunicorn")),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--preload",
            "--no-control-socket",
            "--timeout", str(int(WORKER_TIMEOUT)),
            "--graceful-timeout", "5",
            "--access-logfile", str(self.access_log),
            "--access-logformat", ACCESS_LOG_FORMAT,
            "--error-logfile", str(self.error_log),
            "--pid", str(self.run_dir / "gunicorn.pid"),
            "netbox.wsgi:application",
        ]  # fmt: skip

    def _start_servers(self) -> None:
        """Write the run's configuration, start gunicorn and the RQ worker, wait for the API.

        The worker serves :data:`BRANCHING_QUEUE` only. It loads NetBox on the second core while
        gunicorn preloads it; nothing waits for it, as a job queued before it is up waits in
        redis.

        Raises:
            LabError: The server did not come up, or the worker exited.
        """
        config = render_configuration(
            database=self.database, pg_port=self.pg.port, redis_port=self.redis_port
        )
        write_instance(self.run_dir, config)
        self.port = free_port()
        self._gunicorn = ManagedProcess(
            "gunicorn",
            self._gunicorn_cmd(),
            cwd=self.run_dir,
            env=netbox_env(self.run_dir),
            log_file=self.run_dir / "gunicorn.out",
        )
        self._record_pid(self._gunicorn.pid)
        self._rqworker = ManagedProcess(
            "rqworker",
            [str(self.paths.bin("netbox")), "rqworker", BRANCHING_QUEUE],
            cwd=self.run_dir,
            env=netbox_env(self.run_dir),
            log_file=self.rqworker_log,
        )
        self._record_pid(self._rqworker.pid)
        self._wait_ready(self._gunicorn)
        if not self._rqworker.running():
            raise LabError(f"netbox rqworker exited:\n{self._rqworker.log_tail(30)}")

    def _wait_ready(self, proc: ManagedProcess) -> None:
        """Poll ``/api/status/`` until it answers 200.

        Args:
            proc: The gunicorn process (its death ends the wait early).

        Raises:
            LabError: It died or did not answer within :data:`READY_TIMEOUT`.
        """
        headers = {"Authorization": f"Token {self.token_v1}", "Accept": "application/json"}
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not proc.running():
                raise LabError(f"gunicorn exited:\n{self._error_log_tail()}")
            with contextlib.suppress(requests.RequestException):
                reply = requests.get(f"{self.url}/api/status/", headers=headers, timeout=5)
                if reply.status_code == 200:
                    return
            time.sleep(0.2)
        raise LabError(f"NetBox did not answer in {READY_TIMEOUT:.0f}s:\n{self._error_log_tail()}")

    def _error_log_tail(self, lines: int = 30) -> str:
        """Return the end of gunicorn's error log.

        Args:
            lines: How many lines.

        Returns:
            The last lines.
        """
        with contextlib.suppress(OSError):
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        return ""
