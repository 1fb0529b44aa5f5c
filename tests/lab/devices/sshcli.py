"""SSH CLI devices served by FakeNOS (NAPALM ``ios``, ``nxos_ssh`` and ``eos`` over SSH).

FakeNOS keeps one port per FakeNOS object, so each simulated device gets its own FakeNOS
instance bound to its own address. The platform definitions shipped with FakeNOS supply the
prompts and session commands Netmiko sends at login; the per-host command table adds the
outputs rendered from the model.
"""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Callable
from typing import Any

import yaml

from tests.lab.devices import render
from tests.lab.devices.model import SimDevice

USERNAME = "admin"
PASSWORD = "admin"
FAKENOS_PLATFORMS = {"ios": "cisco_ios", "nxos_ssh": "cisco_nxos", "eos": "arista_eos"}
"""NAPALM driver name -> FakeNOS platform serving it."""

_PROMPTS = ("{base_prompt}>", "{base_prompt}#")
_READY_TIMEOUT_S = 5.0
_ACCEPT_POLL_S = 1


class PortInUseError(OSError):
    """The requested address and port are already bound by another socket."""


def port_is_free(host: str, port: int) -> bool:
    """Tell whether ``host:port`` can be bound exclusively right now.

    The probe sets ``SO_REUSEADDR`` (so connections lingering in TIME_WAIT do not count) but not
    ``SO_REUSEPORT``, so it fails when any listener holds the port, including one that set
    ``SO_REUSEPORT`` (as FakeNOS does) and one bound to the wildcard address.

    Args:
        host: IPv4 address to test.
        port: TCP port to test.

    Returns:
        True when an exclusive bind succeeded.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def ensure_port_free(host: str, port: int) -> None:
    """Raise unless ``host:port`` is free.

    Args:
        host: IPv4 address to test.
        port: TCP port to test.

    Raises:
        PortInUseError: The port is held by another socket.
    """
    if not port_is_free(host, port):
        raise PortInUseError(98, f"{host}:{port} is already in use")


def sshcli_commands(device: SimDevice) -> dict[str, str]:
    """The CLI commands a device answers beyond its FakeNOS platform, with their output.

    Args:
        device: The simulated device; its platform must be a key of :data:`FAKENOS_PLATFORMS`.

    Returns:
        Command line -> output text.

    Raises:
        ValueError: The platform is not served over SSH CLI.
    """
    builders: dict[str, Callable[[SimDevice], dict[str, str]]] = {
        "ios": lambda d: {"show interfaces": render.ios_show_interfaces(d)},
        "nxos_ssh": lambda d: {"show interface": render.nxos_show_interface_text(d)},
        "eos": lambda d: {
            "show version | json": render.eos_json_text(render.eos_show_version_json(d)),
            "show interfaces | json": render.eos_json_text(render.eos_show_interfaces_json(d)),
        },
    }
    if device.platform not in builders:
        raise ValueError(f"platform {device.platform!r} is not served over SSH CLI")
    return builders[device.platform](device)


@functools.cache
def _nos(fakenos_platform: str) -> Any:
    """The FakeNOS platform definition, parsed once per process.

    The shipped definitions are large YAML files: they are read with libyaml when available
    (FakeNOS itself uses the pure-Python loader, ten times slower) in the order FakeNOS reads
    them. Hosts only read the definition, so one instance serves every host of the platform.
    """
    from fakenos.core.nos import Nos
    from fakenos.plugins.nos import nos_plugins

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    nos = Nos()
    for filename in nos_plugins[fakenos_platform]:
        if filename.endswith((".yaml", ".yml")):
            with open(filename, encoding="utf-8") as handle:
                nos.from_dict(yaml.load(handle, Loader=loader))  # noqa: S506
        else:
            nos.from_file(filename)
    nos.validate()
    return nos


def _fakenos_inventory(
    device: SimDevice, host: str, port: int, username: str, password: str
) -> dict[str, Any]:
    """FakeNOS inventory holding this one device."""
    nos = _nos(FAKENOS_PLATFORMS[device.platform])
    commands = {
        line: {"output": output, "help": line, "prompt": list(_PROMPTS)}
        for line, output in sshcli_commands(device).items()
    }
    return {
        "hosts": {
            device.name: {
                "username": username,
                "password": password,
                "port": port,
                "server": {
                    "plugin": "ParamikoSshServer",
                    "configuration": {"address": host, "timeout": _ACCEPT_POLL_S},
                },
                "nos": {"plugin": nos.name, "configuration": {"commands": commands}},
            }
        }
    }


class SshCliServer:
    """A running FakeNOS instance serving one device.

    Attributes:
        name: Device name (also its prompt).
        host: Address the server listens on.
        port: TCP port the server listens on.
    """

    def __init__(self, fakenos: Any, name: str, host: str, port: int) -> None:
        """Wrap a started FakeNOS object.

        Args:
            fakenos: The FakeNOS instance (already started).
            name: Device name.
            host: Listening address.
            port: Listening port.
        """
        self._fakenos = fakenos
        self.name = name
        self.host = host
        self.port = port

    def wait_listening(self, timeout_s: float = _READY_TIMEOUT_S) -> None:
        """Block until the listening socket accepts connections.

        FakeNOS binds in ``start()`` but calls ``listen()`` from its own thread afterwards.

        Args:
            timeout_s: How long to wait.

        Raises:
            TimeoutError: The socket did not reach the listening state in time.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._listening():
                return
            time.sleep(0.005)
        raise TimeoutError(f"FakeNOS for {self.name} is not listening on {self.host}:{self.port}")

    def _listening(self) -> bool:
        """Whether FakeNOS's socket is in the listening state."""
        server = self._fakenos.hosts[self.name].server
        sock = getattr(server, "_socket", None)
        if sock is None:
            return False
        try:
            return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the FakeNOS instance (closes the listener and any open sessions)."""
        self._fakenos.stop()


def start_sshcli_device(
    device: SimDevice,
    host: str,
    port: int,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> SshCliServer:
    """Serve one device over SSH CLI with FakeNOS.

    Args:
        device: The simulated device (platform ``ios``, ``nxos_ssh`` or ``eos``).
        host: Address to listen on.
        port: TCP port to listen on.
        username: Login user name.
        password: Login password.

    Returns:
        The running server; call ``stop()`` when done.

    Raises:
        PortInUseError: ``host:port`` is already bound.
    """
    from fakenos import FakeNOS

    ensure_port_free(host, port)
    inventory = _fakenos_inventory(device, host, port, username, password)
    nos = _nos(FAKENOS_PLATFORMS[device.platform])
    fakenos = FakeNOS(inventory=inventory, plugins=[nos])
    fakenos.start()
    server = SshCliServer(fakenos, device.name, host, port)
    try:
        server.wait_listening()
    except TimeoutError:
        server.stop()
        raise
    return server
