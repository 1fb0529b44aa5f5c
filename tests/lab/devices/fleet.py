"""A fleet of simulated devices, each on its own loopback address, all on one port.

The NetBox inventory names hosts by their bare primary IP and the Nornir inventory sets one
default port, so every device gets its own 127.x address and every server binds the same port
number. By default the servers run in one background process
(``python -m tests.lab.devices serve SPEC.json``) so that SSH crypto and JSON rendering do not
compete with the test process for its GIL; ``isolate=False`` runs them in threads of the
calling process instead.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import errno
import importlib.util
import ipaddress
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from tests.lab.devices.model import SimDevice, SimInterface

USERNAME = "admin"
PASSWORD = "admin"
READY_PREFIX = "SIMFLEET "
"""Prefix of the one status line the serving process prints on stdout."""

NETCONF_MODULE = "tests.lab.devices.netconf"
SUPPORTED = frozenset(
    {
        ("ios", "ssh"),
        ("nxos_ssh", "ssh"),
        ("eos", "ssh"),
        ("eos", "https"),
        ("nxos", "https"),
        ("junos", "netconf"),
        ("iosxr_netconf", "netconf"),
    }
)
"""(NAPALM driver, transport) pairs the fleet can serve."""

_BASE_EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("eos", "ssh"): {"transport": "ssh"},
    ("eos", "https"): {"transport": "https", "enforce_verification": False},
    ("nxos", "https"): {"transport": "https", "ssl_verify": False},
}
_REPO_ROOT = Path(__file__).resolve().parents[3]
_PORT_RANGE = (20000, 29999)
_START_ATTEMPTS = 5
_STARTUP_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0


class RunningServer(Protocol):
    """What every device starter returns."""

    def stop(self) -> None:
        """Stop serving and release the port."""


class FleetStartError(RuntimeError):
    """The simulated devices could not be started."""


class NetconfUnavailableError(FleetStartError):
    """A NETCONF device was requested but ``tests/lab/devices/netconf.py`` cannot be imported."""


@dataclasses.dataclass(frozen=True)
class FleetDevice:
    """Where and how to reach one simulated device.

    Attributes:
        name: Device name.
        ip: Its own loopback address (use it as the host name).
        port: TCP port (the same for the whole fleet).
        platform: NAPALM driver name.
        transport: ``ssh``, ``https`` or ``netconf``.
        napalm_extras: NAPALM ``optional_args`` needed to reach it (without ``port``).
        username: Login user name.
        password: Login password.
    """

    name: str
    ip: str
    port: int
    platform: str
    transport: str
    napalm_extras: dict[str, Any]
    username: str = USERNAME
    password: str = PASSWORD

    def nornir_host(self, with_port: bool = True) -> dict[str, Any]:
        """This device as a Nornir SimpleInventory host entry.

        Args:
            with_port: Include ``port`` (leave it out when the inventory defaults set it).

        Returns:
            A fresh dict, safe for the caller (or a NAPALM driver) to modify.
        """
        entry: dict[str, Any] = {
            "hostname": self.ip,
            "platform": self.platform,
            "username": self.username,
            "password": self.password,
            "connection_options": {
                "napalm": {"extras": {"optional_args": dict(self.napalm_extras)}}
            },
        }
        if with_port:
            entry["port"] = self.port
        return entry


# ---------------------------------------------------------------------------- addresses


def fleet_addresses(first_ip: str, count: int) -> list[str]:
    """Consecutive loopback addresses starting at ``first_ip``.

    Args:
        first_ip: First address; must be in 127.0.0.0/8.
        count: How many addresses.

    Returns:
        The addresses as strings.

    Raises:
        ValueError: Some address would fall outside 127.0.0.0/8.
    """
    loopback = ipaddress.IPv4Network("127.0.0.0/8")
    first = ipaddress.IPv4Address(first_ip)
    addresses = [first + offset for offset in range(count)]
    outside = [str(a) for a in addresses if a not in loopback or a == loopback.broadcast_address]
    if outside:
        raise ValueError(f"simulated devices bind only to 127.x addresses, not {outside}")
    return [str(a) for a in addresses]


def _port_is_free(host: str, port: int) -> bool:
    """Exclusive-bind probe (see :func:`tests.lab.devices.sshcli.port_is_free`)."""
    from tests.lab.devices.sshcli import port_is_free

    return port_is_free(host, port)


def pick_common_port(hosts: Sequence[str], rng: random.Random | None = None) -> int:
    """A TCP port that is free on every one of ``hosts``.

    Args:
        hosts: Addresses that must all be able to bind the port.
        rng: Random source (a fresh one when omitted).

    Returns:
        The port.

    Raises:
        FleetStartError: No free port found after many tries.
    """
    rng = rng or random.Random()
    for _ in range(500):
        port = rng.randint(*_PORT_RANGE)
        if all(_port_is_free(host, port) for host in hosts):
            return port
    raise FleetStartError(f"no port in {_PORT_RANGE} is free on all of {list(hosts)}")


# ------------------------------------------------------------------------------ starting


def netconf_available() -> bool:
    """Whether the NETCONF starter module exists.

    Returns:
        True when ``tests/lab/devices/netconf.py`` can be found.
    """
    return importlib.util.find_spec(NETCONF_MODULE) is not None


def _start_netconf(device: SimDevice, host: str, port: int) -> RunningServer:
    """Start a NETCONF device through the teammate's module."""
    try:
        from tests.lab.devices.netconf import (  # type: ignore[import-not-found,unused-ignore]
            start_netconf_device,
        )
    except ImportError as exc:
        raise NetconfUnavailableError(
            f"device {device.name!r} uses transport 'netconf', which needs "
            f"{NETCONF_MODULE} (tests/lab/devices/netconf.py) providing "
            f"start_netconf_device(device, host, port); importing it failed: {exc}"
        ) from exc
    server: RunningServer = start_netconf_device(device, host, port)
    return server


def start_device(device: SimDevice, host: str, port: int) -> RunningServer:
    """Start one simulated device with the server for its transport.

    Args:
        device: The device.
        host: Loopback address to listen on.
        port: TCP port to listen on.

    Returns:
        The running server.

    Raises:
        ValueError: Unsupported platform / transport pair.
        NetconfUnavailableError: NETCONF requested and its module is missing.
    """
    if (device.platform, device.transport) not in SUPPORTED:
        raise ValueError(f"unsupported platform/transport {device.platform}/{device.transport}")
    if device.transport == "ssh":
        from tests.lab.devices.sshcli import start_sshcli_device

        return start_sshcli_device(device, host, port, USERNAME, PASSWORD)
    if device.transport == "https":
        from tests.lab.devices.jsonrpc import start_jsonrpc_device

        return start_jsonrpc_device(device, host, port, USERNAME, PASSWORD)
    return _start_netconf(device, host, port)


def stop_all(servers: Sequence[RunningServer]) -> None:
    """Stop servers concurrently (each FakeNOS stop waits up to a couple of seconds).

    Args:
        servers: Servers to stop; errors from one do not keep the others running.
    """
    if not servers:
        return
    with ThreadPoolExecutor(max_workers=min(16, len(servers))) as pool:
        for future in [pool.submit(server.stop) for server in servers]:
            with contextlib.suppress(Exception):
                future.result()


def _netconf_optional_args(platform: str) -> dict[str, Any]:
    """The optional_args the NETCONF module recommends for its devices (``{}`` if none)."""
    from tests.lab.devices import netconf  # type: ignore[import-not-found,unused-ignore]

    provider = getattr(netconf, "napalm_optional_args", None)
    return dict(provider(platform)) if callable(provider) else {}


def napalm_extras(device: SimDevice, server: object | None = None) -> dict[str, Any]:
    """NAPALM ``optional_args`` for a device (``port`` excluded; Nornir adds it).

    For NETCONF devices they come from ``netconf.napalm_optional_args(platform)``.

    Args:
        device: The device.
        server: Its running server; a ``napalm_extras`` mapping on it is merged in.

    Returns:
        A fresh dict.
    """
    if device.transport == "netconf":
        extras = _netconf_optional_args(device.platform)
    else:
        extras = dict(_BASE_EXTRAS.get((device.platform, device.transport), {}))
    extras.update(getattr(server, "napalm_extras", None) or {})
    return extras


@dataclasses.dataclass
class ServerGroup:
    """Servers started together on one port.

    Attributes:
        port: The shared port.
        servers: Device name -> running server.
        extras: Device name -> NAPALM optional_args.
    """

    port: int
    servers: dict[str, RunningServer]
    extras: dict[str, dict[str, Any]]

    def stop(self) -> None:
        """Stop every server of the group."""
        stop_all(list(self.servers.values()))
        self.servers.clear()


def _is_port_clash(exc: BaseException) -> bool:
    """Whether a start failure means the port was taken."""
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE


def _start_on_port(devices: Sequence[SimDevice], hosts: Sequence[str], port: int) -> ServerGroup:
    """Start every device on ``port``; on any failure stop those already started."""
    group = ServerGroup(port, {}, {})
    try:
        for device, host in zip(devices, hosts, strict=True):
            server = start_device(device, host, port)
            group.servers[device.name] = server
            group.extras[device.name] = napalm_extras(device, server)
    except BaseException:
        group.stop()
        raise
    return group


def start_servers(
    devices: Sequence[SimDevice], hosts: Sequence[str], port: int | None = None
) -> ServerGroup:
    """Start all devices in this process on one port, picking a free one unless given.

    Args:
        devices: Devices to serve.
        hosts: One loopback address per device.
        port: Port to use; ``None`` picks one free on all addresses (retrying on a clash).

    Returns:
        The running group.
    """
    if port is not None:
        return _start_on_port(devices, hosts, port)
    rng = random.Random()
    for _ in range(_START_ATTEMPTS - 1):
        try:
            return _start_on_port(devices, hosts, pick_common_port(hosts, rng))
        except OSError as exc:
            if not _is_port_clash(exc):
                raise
    return _start_on_port(devices, hosts, pick_common_port(hosts, rng))


# -------------------------------------------------------------------------------- backends


class _InProcessBackend:
    """Servers running as threads of this process."""

    def __init__(self, group: ServerGroup) -> None:
        self._group = group

    def stop(self) -> None:
        self._group.stop()


class _SubprocessBackend:
    """Servers running in a child ``python -m tests.lab.devices serve`` process."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path) -> None:
        self._process = process
        self.workdir = workdir

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class _Backend(Protocol):
    def stop(self) -> None: ...


class Fleet:
    """Running simulated devices, addressable by device name.

    Attributes:
        devices: Device name -> :class:`FleetDevice`.
        port: The port every device listens on.
        log_path: stderr of the serving process (``None`` when running in-process).
    """

    def __init__(
        self,
        devices: dict[str, FleetDevice],
        port: int,
        backend: _Backend,
        log_path: Path | None = None,
        cleanup: Path | None = None,
    ) -> None:
        """Wrap running servers. Use :func:`start_fleet` rather than this constructor."""
        self.devices = devices
        self.port = port
        self.log_path = log_path
        self._backend = backend
        self._cleanup = cleanup
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)
        _stop_before_thread_join(self)

    def __getitem__(self, name: str) -> FleetDevice:
        """The device called ``name``."""
        return self.devices[name]

    def device_at(self, ip: str) -> FleetDevice:
        """The device listening on ``ip`` (NetBox inventories name hosts by primary IP).

        Args:
            ip: Loopback address.

        Returns:
            The device.

        Raises:
            KeyError: No device has that address.
        """
        for device in self.devices.values():
            if device.ip == ip:
                return device
        raise KeyError(ip)

    def __iter__(self) -> Iterator[FleetDevice]:
        """Devices in start order."""
        return iter(self.devices.values())

    def __len__(self) -> int:
        """Number of devices."""
        return len(self.devices)

    def __enter__(self) -> Fleet:
        """Use as a context manager that stops the fleet on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the fleet."""
        self.stop()

    @property
    def pid(self) -> int | None:
        """PID of the serving process, ``None`` when the servers run in this process."""
        backend = self._backend
        return backend.pid if isinstance(backend, _SubprocessBackend) else None

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` has run."""
        return self._stopped

    def simple_inventory_hosts(self, with_port: bool = True) -> dict[str, dict[str, Any]]:
        """Nornir SimpleInventory ``hosts`` content for the whole fleet.

        Args:
            with_port: Put ``port`` on each host (else set it once in the defaults).

        Returns:
            Device name -> host entry.
        """
        return {name: device.nornir_host(with_port) for name, device in self.devices.items()}

    def stop(self) -> None:
        """Stop every server (idempotent; also runs at interpreter exit)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self._backend.stop()
        finally:
            if self._cleanup is not None:
                _remove_tree(self._cleanup)
            atexit.unregister(self.stop)


def _stop_before_thread_join(fleet: Fleet) -> None:
    """Stop ``fleet`` at interpreter exit before non-daemon threads are joined.

    FakeNOS runs its listeners in non-daemon threads; the interpreter joins those before
    ``atexit`` handlers run, so an in-process fleet left running would hang the exit. The
    threading module's own exit hook runs first.
    """
    register = getattr(threading, "_register_atexit", None)
    if not callable(register):
        return
    ref = weakref.ref(fleet)

    def hook() -> None:
        alive = ref()
        if alive is not None:
            alive.stop()

    with contextlib.suppress(RuntimeError):
        register(hook)


def _remove_tree(path: Path) -> None:
    """Remove a temporary directory, ignoring errors."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- public API


def _validate(devices: Sequence[SimDevice]) -> None:
    """Reject duplicate names, unsupported pairs and NETCONF without its module."""
    names = [d.name for d in devices]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate device names: {duplicates}")
    for device in devices:
        if (device.platform, device.transport) not in SUPPORTED:
            raise ValueError(
                f"{device.name}: unsupported platform/transport "
                f"{device.platform}/{device.transport}; supported: {sorted(SUPPORTED)}"
            )
    netconf = [d.name for d in devices if d.transport == "netconf"]
    if netconf and not netconf_available():
        raise NetconfUnavailableError(
            f"devices {netconf} use transport 'netconf', which needs {NETCONF_MODULE} "
            "(tests/lab/devices/netconf.py) providing start_netconf_device(device, host, port); "
            "that module does not exist yet"
        )


def _fleet_devices(
    devices: Sequence[SimDevice], hosts: Sequence[str], port: int, extras: Mapping[str, Any]
) -> dict[str, FleetDevice]:
    """Build the per-device access records."""
    return {
        d.name: FleetDevice(d.name, host, port, d.platform, d.transport, dict(extras[d.name]))
        for d, host in zip(devices, hosts, strict=True)
    }


def start_fleet(
    devices: Sequence[SimDevice],
    first_ip: str = "127.0.10.1",
    *,
    port: int | None = None,
    isolate: bool = True,
) -> Fleet:
    """Start simulated devices on consecutive loopback addresses and one shared port.

    Args:
        devices: Devices to serve; device ``i`` listens on ``first_ip + i``.
        first_ip: First loopback address.
        port: Port to use; ``None`` picks one free on every address.
        isolate: Run the servers in a background process (default) rather than in threads of
            this process.

    Returns:
        The running fleet; call ``stop()`` (or use it as a context manager).

    Raises:
        ValueError: Bad device list or addresses outside 127.0.0.0/8.
        NetconfUnavailableError: NETCONF devices requested but netconf.py is missing.
        FleetStartError: The servers did not come up.
    """
    _validate(devices)
    hosts = fleet_addresses(first_ip, len(devices))
    if not isolate:
        group = start_servers(devices, hosts, port)
        fleet_devices = _fleet_devices(devices, hosts, group.port, group.extras)
        return Fleet(fleet_devices, group.port, _InProcessBackend(group))
    return _start_subprocess_fleet(devices, hosts, port)


# ---------------------------------------------------------------------------- subprocess


def device_to_json(device: SimDevice) -> dict[str, Any]:
    """Serialise a device for the serving process.

    Args:
        device: The device.

    Returns:
        A JSON-compatible dict.
    """
    return dataclasses.asdict(device)


def device_from_json(data: Mapping[str, Any]) -> SimDevice:
    """Rebuild a device serialised by :func:`device_to_json`.

    Args:
        data: The serialised device.

    Returns:
        The device.
    """
    interfaces = tuple(SimInterface(**i) for i in data["interfaces"])
    return SimDevice(data["name"], data["platform"], data["transport"], interfaces)


def _spawn(spec_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Launch the serving process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.lab.devices", "serve", str(spec_path)],
            cwd=_REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )


def _read_status(process: subprocess.Popen[bytes], timeout_s: float) -> dict[str, Any]:
    """Wait for the serving process's status line."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    fd = process.stdout.fileno()
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
        *complete, _ = buffer.split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace")
            if line.startswith(READY_PREFIX):
                status: dict[str, Any] = json.loads(line[len(READY_PREFIX) :])
                return status
    return {"status": "error", "error": "serving process gave no status", "type": "timeout"}


def _log_tail(log_path: Path, limit: int = 4000) -> str:
    """The end of the serving process's stderr."""
    try:
        return log_path.read_text("utf-8", "replace")[-limit:]
    except OSError:
        return ""


def _start_subprocess_fleet(
    devices: Sequence[SimDevice], hosts: Sequence[str], port: int | None
) -> Fleet:
    """Start the devices in a background process and wait until all listen."""
    workdir = Path(tempfile.mkdtemp(prefix="simfleet-"))
    spec = {
        "devices": [device_to_json(d) for d in devices],
        "hosts": list(hosts),
        "port": port,
        "workdir": str(workdir),
    }
    spec_path, log_path = workdir / "spec.json", workdir / "serve.log"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    process = _spawn(spec_path, log_path)
    backend = _SubprocessBackend(process, workdir)
    try:
        status = _read_status(process, _STARTUP_TIMEOUT_S)
    except BaseException:
        backend.stop()
        _remove_tree(workdir)
        raise
    if status.get("status") != "ready":
        backend.stop()
        error = _startup_error(status, _log_tail(log_path))
        _remove_tree(workdir)
        raise error
    fleet_devices = _fleet_devices(devices, hosts, int(status["port"]), status["extras"])
    return Fleet(fleet_devices, int(status["port"]), backend, log_path, cleanup=workdir)


def _startup_error(status: Mapping[str, Any], log_tail: str) -> FleetStartError:
    """The exception for a failed start, of the serving process's error type where known."""
    message = f"{status.get('error')}\n--- serving process stderr ---\n{log_tail}"
    if status.get("type") == NetconfUnavailableError.__name__:
        return NetconfUnavailableError(message)
    return FleetStartError(message)


def _print_status(payload: Mapping[str, Any]) -> None:
    """Write the one status line the parent waits for."""
    sys.stdout.write(READY_PREFIX + json.dumps(payload) + "\n")
    sys.stdout.flush()


def _shutdown_events() -> tuple[threading.Event, threading.Event]:
    """Events for "stop now" (SIGTERM, SIGINT or end of stdin) and "the parent is gone".

    Installed before any server starts, so an early SIGTERM still leads to a clean stop.
    """
    done, orphaned = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    def watch_stdin() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        orphaned.set()
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    return done, orphaned


def serve_spec(spec_path: Path) -> int:
    """Serving-process entry point: start the spec's devices, report, run until told to stop.

    Args:
        spec_path: JSON written by the parent: devices, hosts, port, and the parent's
            temporary directory (removed here if the parent dies without stopping us).

    Returns:
        Process exit status.
    """
    done, orphaned = _shutdown_events()
    spec = json.loads(spec_path.read_text("utf-8"))
    devices = [device_from_json(d) for d in spec["devices"]]
    try:
        group = start_servers(devices, spec["hosts"], spec.get("port"))
    except Exception as exc:
        _print_status({"status": "error", "error": str(exc), "type": type(exc).__name__})
        return 1
    try:
        _print_status({"status": "ready", "port": group.port, "extras": group.extras})
        while not done.wait(0.5):
            pass
    finally:
        group.stop()
        if orphaned.is_set() and spec.get("workdir"):
            _remove_tree(Path(spec["workdir"]))
    return 0
