"""Simulated junos / iosxr_netconf devices, read by NAPALM's real drivers through Nornir."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from lxml import etree  # type: ignore[import-untyped,unused-ignore]
from nornir import InitNornir
from nornir_napalm.plugins.tasks import napalm_get

from tests.lab.devices import render_netconf as rn
from tests.lab.devices.model import SimDevice, SimInterface
from tests.lab.devices.netconf import (
    EOM,
    PASSWORD,
    USERNAME,
    Framing,
    FramingError,
    MessageDecoder,
    RunningServer,
    frame_message,
    napalm_optional_args,
    negotiate_framing,
    parse_chunk_header,
    start_netconf_device,
)

pytestmark = pytest.mark.lab

HOST = "127.0.83.1"
UNICODE_DESCRIPTION = "Düsseldorf → Köln  backbone #1"
LAG_DESCRIPTION = "LAG <dist-1 & dist-2>"

JUNOS_DEVICE = SimDevice(
    name="sim-junos-1",
    platform="junos",
    transport="netconf",
    interfaces=(
        SimInterface("ge-0/0/0", description="uplink to core-1", mtu=1514, mac="00:05:86:71:1A:C0"),
        SimInterface("ge-0/0/0.0", description="unit 0 inet", mtu=1500),
        SimInterface("ge-0/0/0.100", enabled=False, description="vlan 100", mtu=1500),
        SimInterface(
            "xe-0/0/1",
            description=UNICODE_DESCRIPTION,
            speed_mbps=10_000,
            mtu=9192,
            mac="00:05:86:71:1A:C1",
        ),
        SimInterface(
            "et-0/0/2",
            enabled=False,
            up=False,
            speed_mbps=100_000,
            mtu=1514,
            mac="00:05:86:71:1A:C2",
        ),
        SimInterface("ge-0/0/3", up=False, mtu=1514, mac="00:05:86:71:1A:C3"),
        SimInterface(
            "ae0", description=LAG_DESCRIPTION, speed_mbps=20_000, mtu=1514, mac="00:05:86:71:1A:F0"
        ),
        SimInterface("ae0.0", mtu=1500),
        SimInterface("lo0", description="router id", speed_mbps=0, mtu=0),
        SimInterface("lo0.0", mtu=0),
    ),
)


def _junos(
    is_up: bool, is_enabled: bool, description: str, speed: float, mtu: int, mac: str
) -> dict[str, Any]:
    """Build one NAPALM junos get_interfaces entry (last_flapped -1.0: no flap reported)."""
    return {
        "is_up": is_up,
        "is_enabled": is_enabled,
        "description": description,
        "last_flapped": -1.0,
        "mac_address": mac,
        "speed": speed,
        "mtu": mtu,
    }


# NAPALM's junos driver reads a logical unit's is_up, speed, mtu and MAC from its physical
# interface (../oper-status, ../speed, ../mtu, ../current-physical-address); only is_enabled
# (iff-down flag) and description are the unit's own. Unknown speed ("Unspecified") is -1.0,
# an interface without current-physical-address gets the string "None", and "Unlimited" MTU 0.
JUNOS_EXPECTED: dict[str, dict[str, Any]] = {
    "ge-0/0/0": _junos(True, True, "uplink to core-1", 1000.0, 1514, "00:05:86:71:1A:C0"),
    "ge-0/0/0.0": _junos(True, True, "unit 0 inet", 1000.0, 1514, "00:05:86:71:1A:C0"),
    "ge-0/0/0.100": _junos(True, False, "vlan 100", 1000.0, 1514, "00:05:86:71:1A:C0"),
    "xe-0/0/1": _junos(True, True, UNICODE_DESCRIPTION, 10_000.0, 9192, "00:05:86:71:1A:C1"),
    "et-0/0/2": _junos(False, False, "", 100_000.0, 1514, "00:05:86:71:1A:C2"),
    "ge-0/0/3": _junos(False, True, "", 1000.0, 1514, "00:05:86:71:1A:C3"),
    "ae0": _junos(True, True, LAG_DESCRIPTION, 20_000.0, 1514, "00:05:86:71:1A:F0"),
    "ae0.0": _junos(True, True, "", 20_000.0, 1514, "00:05:86:71:1A:F0"),
    "lo0": _junos(True, True, "router id", -1.0, 0, "None"),
    "lo0.0": _junos(True, True, "", -1.0, 0, "None"),
}

IOSXR_DEVICE = SimDevice(
    name="sim-xr-1",
    platform="iosxr_netconf",
    transport="netconf",
    interfaces=(
        SimInterface(
            "GigabitEthernet0/0/0/0",
            description="uplink to core-1",
            mtu=1514,
            mac="00:A7:42:20:E2:B0",
        ),
        SimInterface(
            "GigabitEthernet0/0/0/0.100", description="vlan 100", mtu=1518, mac="00:A7:42:20:E2:B0"
        ),
        SimInterface(
            "TenGigE0/0/0/1",
            description=UNICODE_DESCRIPTION,
            speed_mbps=10_000,
            mtu=9216,
            mac="00:A7:42:20:E2:B1",
        ),
        SimInterface(
            "HundredGigE0/0/0/2",
            enabled=False,
            up=False,
            speed_mbps=100_000,
            mtu=1514,
            mac="00:A7:42:20:E2:B2",
        ),
        SimInterface("GigabitEthernet0/0/0/3", up=False, mtu=1514, mac="00:A7:42:20:E2:B3"),
        SimInterface(
            "Bundle-Ether1",
            description=LAG_DESCRIPTION,
            speed_mbps=20_000,
            mtu=1514,
            mac="00:A7:42:20:E2:F0",
        ),
        SimInterface("Loopback0", description="router id", speed_mbps=0, mtu=1500),
        SimInterface("MgmtEth0/RP0/CPU0/0", mtu=1514, mac="00:A7:42:20:E2:00"),
    ),
)


def _xr(
    is_up: bool, is_enabled: bool, description: str, speed: float, mtu: int, mac: str
) -> dict[str, Any]:
    """Build one NAPALM iosxr_netconf get_interfaces entry (last_flapped is always -1.0)."""
    return {
        "is_enabled": is_enabled,
        "is_up": is_up,
        "mac_address": mac,
        "description": description,
        "speed": speed,
        "last_flapped": -1.0,
        "mtu": mtu,
    }


# NAPALM's iosxr_netconf driver takes speed from <bandwidth> (kbit/s) * 1e-3, so a loopback's
# bandwidth 0 is speed 0.0 (not -1.0); an interface without <mac-address> gets "".
IOSXR_EXPECTED: dict[str, dict[str, Any]] = {
    "GigabitEthernet0/0/0/0": _xr(
        True, True, "uplink to core-1", 1000.0, 1514, "00:A7:42:20:E2:B0"
    ),
    "GigabitEthernet0/0/0/0.100": _xr(True, True, "vlan 100", 1000.0, 1518, "00:A7:42:20:E2:B0"),
    "TenGigE0/0/0/1": _xr(True, True, UNICODE_DESCRIPTION, 10_000.0, 9216, "00:A7:42:20:E2:B1"),
    "HundredGigE0/0/0/2": _xr(False, False, "", 100_000.0, 1514, "00:A7:42:20:E2:B2"),
    "GigabitEthernet0/0/0/3": _xr(False, True, "", 1000.0, 1514, "00:A7:42:20:E2:B3"),
    "Bundle-Ether1": _xr(True, True, LAG_DESCRIPTION, 20_000.0, 1514, "00:A7:42:20:E2:F0"),
    "Loopback0": _xr(True, True, "router id", 0.0, 1500, ""),
    "MgmtEth0/RP0/CPU0/0": _xr(True, True, "", 1000.0, 1514, "00:A7:42:20:E2:00"),
}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def started() -> Iterator[list[RunningServer]]:
    """Collect servers started by a test and stop them afterwards."""
    servers: list[RunningServer] = []
    yield servers
    for server in servers:
        server.stop()


def _start(
    started: list[RunningServer], device: SimDevice, bases: tuple[str, ...] | None = None
) -> RunningServer:
    """Start a device on a free port of HOST and register it for teardown."""
    server = start_netconf_device(device, HOST, 0, bases=bases)
    started.append(server)
    return server


def _nornir(tmp_path: Path, server: RunningServer) -> Any:
    """Build a Nornir with one host pointing at a running simulated device."""
    platform = server.device.platform
    hosts = {
        server.device.name: {
            "hostname": server.host,
            "port": server.port,
            "username": USERNAME,
            "password": PASSWORD,
            "platform": platform,
            "connection_options": {
                "napalm": {
                    "extras": {"timeout": 20, "optional_args": napalm_optional_args(platform)}
                }
            },
        }
    }
    host_file = tmp_path / "hosts.yaml"
    host_file.write_text(json.dumps(hosts), encoding="utf-8")
    return InitNornir(
        runner={"plugin": "serial"},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(host_file),
                "group_file": str(tmp_path / "groups.yaml"),
                "defaults_file": str(tmp_path / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )


def _get_interfaces(tmp_path: Path, server: RunningServer) -> dict[str, Any]:
    """Run napalm_get(get_interfaces) through Nornir against a running device."""
    nr = _nornir(tmp_path, server)
    try:
        result = nr.run(task=napalm_get, getters=["get_interfaces"])
    finally:
        nr.close_connections()
    host_result = result[server.device.name]
    assert not host_result.failed, host_result[0].exception
    interfaces: dict[str, Any] = host_result[0].result["get_interfaces"]
    return interfaces


class RawClient:
    """A bare NETCONF client over paramiko, to drive framing edge cases."""

    def __init__(self, server: RunningServer, password: str = PASSWORD) -> None:
        """Log in and start the netconf subsystem (the server's hello is not read yet)."""
        self.transport = paramiko.Transport((server.host, server.port))
        self.transport.connect(username=USERNAME, password=password)
        self.channel = self.transport.open_session()
        self.channel.settimeout(10)
        self.channel.invoke_subsystem("netconf")
        self.decoder = MessageDecoder()

    def send(self, payload: bytes, framing: Framing) -> None:
        """Frame and send one message."""
        self.channel.sendall(frame_message(payload, framing))

    def receive(self) -> bytes | None:
        """Return the next message in the decoder's framing, or None once the server closed."""
        while (message := self.decoder.next_message()) is None:
            data = self.channel.recv(65_536)
            if not data:
                return None
            self.decoder.feed(data)
        return message

    def read_raw_until_closed(self) -> bytes:
        """Return every byte the server still sends before it closes the channel."""
        chunks = []
        while data := self.channel.recv(65_536):
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        """Drop the SSH connection."""
        self.transport.close()


def _client_hello(*bases: str) -> bytes:
    """Build a client hello announcing the given base versions only."""
    caps = "".join(f"<capability>urn:ietf:params:netconf:base:{b}</capability>" for b in bases)
    return (f'<hello xmlns="{rn.BASE_NS}"><capabilities>{caps}</capabilities></hello>').encode()


def _rpc(message_id: str, body: str) -> bytes:
    """Build an <rpc> around an operation."""
    return f'<rpc xmlns="{rn.BASE_NS}" message-id="{message_id}">{body}</rpc>'.encode()


# ---------------------------------------------------------------------------
# NAPALM through Nornir
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bases", [("1.0",), ("1.0", "1.1")], ids=["eom", "chunked"])
def test_junos_get_interfaces_through_nornir(
    tmp_path: Path, started: list[RunningServer], bases: tuple[str, ...]
) -> None:
    server = _start(started, JUNOS_DEVICE, bases)
    assert _get_interfaces(tmp_path, server) == JUNOS_EXPECTED


@pytest.mark.parametrize(
    "bases", [("1.0", "1.1"), ("1.1",), ("1.0",)], ids=["both", "chunked-only", "eom-only"]
)
def test_iosxr_get_interfaces_through_nornir(
    tmp_path: Path, started: list[RunningServer], bases: tuple[str, ...]
) -> None:
    server = _start(started, IOSXR_DEVICE, bases)
    assert _get_interfaces(tmp_path, server) == IOSXR_EXPECTED


def test_iosxr_open_reads_yang_library_module_set(
    tmp_path: Path, started: list[RunningServer]
) -> None:
    server = _start(started, IOSXR_DEVICE)
    nr = _nornir(tmp_path, server)
    try:
        host = nr.inventory.hosts[IOSXR_DEVICE.name]
        driver = host.get_connection("napalm", nr.config)
        assert driver.module_set_ns == [ns for _, _, ns in rn.XR_MODULES]
    finally:
        nr.close_connections()


def test_junos_interface_name_argument_and_unknown_rpc(started: list[RunningServer]) -> None:
    from jnpr.junos.exception import RpcError
    from napalm import get_network_driver

    server = _start(started, JUNOS_DEVICE)
    driver = get_network_driver("junos")(
        HOST, USERNAME, PASSWORD, timeout=20, optional_args={"port": server.port}
    )
    driver.open()
    try:
        reply = driver.device.rpc.get_interface_information(interface_name="ge-0/0/*")
        names = [n.strip() for n in reply.xpath("physical-interface/name/text()")]
        assert names == ["ge-0/0/0", "ge-0/0/3"]
        with pytest.raises(RpcError, match="device ge-9/9/9 not found"):
            driver.device.rpc.get_interface_information(interface_name="ge-9/9/9")
        with pytest.raises(RpcError, match="not supported"):
            driver.device.rpc.get_software_information()
    finally:
        driver.close()


def test_iosxr_unknown_rpc_and_unfiltered_get(started: list[RunningServer]) -> None:
    from ncclient import manager
    from ncclient.operations.rpc import RPCError
    from ncclient.xml_ import to_ele

    server = _start(started, IOSXR_DEVICE)
    with manager.connect(
        host=HOST,
        port=server.port,
        username=USERNAME,
        password=PASSWORD,
        device_params={"name": "iosxr"},
        timeout=20,
        **napalm_optional_args("iosxr_netconf"),
    ) as session:
        with pytest.raises(RPCError) as caught:
            session.dispatch(to_ele("<get-bogus-information/>"))
        assert caught.value.tag == "operation-not-supported"
        data = etree.fromstring(session.get().data_xml.encode())
        tops = [etree.QName(e).namespace for e in data]
        assert tops == [rn.XR_IF_OPER_NS, rn.YANG_LIBRARY_NS]


# ---------------------------------------------------------------------------
# Session behaviour with a bare client
# ---------------------------------------------------------------------------


def test_base10_client_gets_eom_framing_from_11_server(started: list[RunningServer]) -> None:
    server = _start(started, IOSXR_DEVICE, ("1.0", "1.1"))
    client = RawClient(server)
    try:
        hello = client.receive()
        assert hello is not None and rn.BASE_1_1.encode() in hello
        client.send(_client_hello("1.0"), Framing.EOM)
        client.send(_rpc("7", "<get-bogus/>"), Framing.EOM)
        reply = client.receive()
        assert reply is not None
        root = etree.fromstring(reply)
        assert root.get("message-id") == "7"
        assert root.findtext(f".//{{{rn.BASE_NS}}}error-tag") == "operation-not-supported"
        client.send(_rpc("8", "<close-session/>"), Framing.EOM)
        reply = client.receive()
        assert reply is not None and b"<ok/>" in reply
        assert client.read_raw_until_closed() == b""
    finally:
        client.close()


def test_chunked_client_rpc_right_after_hello(started: list[RunningServer]) -> None:
    server = _start(started, IOSXR_DEVICE)
    client = RawClient(server)
    try:
        assert client.receive() is not None
        rpc = frame_message(_rpc("1", "<get/>"), Framing.CHUNKED, chunk_size=7)
        client.channel.sendall(frame_message(_client_hello("1.0", "1.1"), Framing.EOM) + rpc)
        client.decoder.framing = Framing.CHUNKED
        reply = client.receive()
        assert reply is not None and rn.XR_IF_OPER_NS.encode() in reply
    finally:
        client.close()


def test_no_common_base_closes_session(started: list[RunningServer]) -> None:
    server = _start(started, JUNOS_DEVICE)
    client = RawClient(server)
    try:
        hello = client.receive()
        assert hello is not None and rn.BASE_1_1.encode() not in hello
        client.send(_client_hello("1.1"), Framing.EOM)
        assert client.read_raw_until_closed() == b""
    finally:
        client.close()


def test_broken_chunk_closes_session(started: list[RunningServer]) -> None:
    server = _start(started, IOSXR_DEVICE)
    client = RawClient(server)
    try:
        assert client.receive() is not None
        client.send(_client_hello("1.1"), Framing.EOM)
        client.channel.sendall(b"\n#0\n<rpc/>\n##\n")
        assert client.read_raw_until_closed() == b""
    finally:
        client.close()


def test_malformed_xml_gets_rpc_error(started: list[RunningServer]) -> None:
    server = _start(started, JUNOS_DEVICE)
    client = RawClient(server)
    try:
        assert client.receive() is not None
        client.send(_client_hello("1.0"), Framing.EOM)
        client.send(b"<rpc message-id='1'><get-interface-information>", Framing.EOM)
        reply = client.receive()
        assert reply is not None
        tag = etree.fromstring(reply).findtext(f".//{{{rn.BASE_NS}}}error-tag")
        assert tag == "malformed-message"
    finally:
        client.close()


def test_wrong_password_is_refused(started: list[RunningServer]) -> None:
    server = _start(started, JUNOS_DEVICE)
    with pytest.raises(paramiko.AuthenticationException):
        RawClient(server, password="wrong")


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads alive now that were not before, after a short grace for clients to wind down."""
    deadline = time.monotonic() + 2.0
    while (new := [t for t in threading.enumerate() if t not in before]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return new


def test_startup_is_fast_and_stop_releases_everything(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    begin = time.perf_counter()
    servers = [
        start_netconf_device(JUNOS_DEVICE, "127.0.83.4", 0),
        start_netconf_device(IOSXR_DEVICE, "127.0.83.5", 0),
    ]
    elapsed = time.perf_counter() - begin
    try:
        assert elapsed < 1.0
        assert _get_interfaces(tmp_path, servers[1]) == IOSXR_EXPECTED
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        server.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.host, server.port), timeout=2).close()
    assert _new_threads(before) == []


def test_stop_with_client_still_connected() -> None:
    before = set(threading.enumerate())
    server = start_netconf_device(IOSXR_DEVICE, HOST, 0)
    client = RawClient(server)
    try:
        assert client.receive() is not None
        server.stop()
        assert client.read_raw_until_closed() == b""
    finally:
        client.close()
        server.stop()
    assert _new_threads(before) == []


EXIT_SCRIPT = """
import atexit
import socket
import threading

import paramiko


def report_after_stop():
    alive = [
        t.name for t in threading.enumerate()
        if t.name.startswith("netconf-") or isinstance(t, paramiko.Transport)
    ]
    print("alive after exit:", alive, flush=True)


atexit.register(report_after_stop)
from tests.lab.devices.model import SimDevice, SimInterface
from tests.lab.devices.netconf import start_netconf_device
device = SimDevice("exit-1", "junos", "netconf", (SimInterface("ge-0/0/0"),))
server = start_netconf_device(device, "127.0.83.6", 0)
client = socket.create_connection((server.host, server.port))
assert client.recv(4).startswith(b"SSH-")
print(server.port, flush=True)
"""


def test_interpreter_exit_stops_running_servers() -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT],
        check=False,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    port, report = done.stdout.splitlines()
    assert report == "alive after exit: []"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.83.6", int(port)), timeout=2).close()


@pytest.mark.parametrize(
    ("host", "device"),
    [
        ("0.0.0.0", JUNOS_DEVICE),  # noqa: S104
        ("10.0.0.1", JUNOS_DEVICE),
        ("::1", JUNOS_DEVICE),
        ("localhost", JUNOS_DEVICE),
        (HOST, SimDevice("eos-1", "eos", "https")),
        (HOST, SimDevice("j", "junos", "netconf", (SimInterface("ge-0/0/9.0"),))),
        (
            HOST,
            SimDevice("j", "junos", "netconf", (SimInterface("ge-0/0/9", mac="0011.2233.4455"),)),
        ),
    ],
    ids=["any", "not-loopback", "ipv6", "name", "platform", "orphan-unit", "bad-mac"],
)
def test_start_rejects(host: str, device: SimDevice) -> None:
    with pytest.raises(ValueError):
        start_netconf_device(device, host, 0).stop()


def test_start_rejects_unknown_base() -> None:
    with pytest.raises(ValueError):
        start_netconf_device(JUNOS_DEVICE, HOST, 0, bases=("2.0",))


# ---------------------------------------------------------------------------
# Framing (pure)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "framing", "chunk_size", "expected"),
    [
        (b"<a/>", Framing.EOM, 10, b"<a/>]]>]]>"),
        (b"<a/>", Framing.CHUNKED, 10, b"\n#4\n<a/>\n##\n"),
        (b"<abc/>", Framing.CHUNKED, 4, b"\n#4\n<abc\n#2\n/>\n##\n"),
        ("ü".encode(), Framing.CHUNKED, 10, b"\n#2\n\xc3\xbc\n##\n"),
    ],
)
def test_frame_message(payload: bytes, framing: Framing, chunk_size: int, expected: bytes) -> None:
    assert frame_message(payload, framing, chunk_size) == expected


@pytest.mark.parametrize(
    ("buffer", "expected"),
    [
        (b"", None),
        (b"\n", None),
        (b"\n#", None),
        (b"\n#1", None),
        (b"\n#12", None),
        (b"\n#12\n", (12, 5)),
        (b"\n#4294967295\nxyz", (4294967295, 13)),
        (b"\n##", None),
        (b"\n##\n", (0, 4)),
        (b"\n##\nmore", (0, 4)),
    ],
)
def test_parse_chunk_header(buffer: bytes, expected: tuple[int, int] | None) -> None:
    assert parse_chunk_header(buffer) == expected


@pytest.mark.parametrize(
    "buffer",
    [
        b"x",
        b"#1\n",
        b"\nx",
        b"\n#0\n",
        b"\n#01\n",
        b"\n#1a\n",
        b"\n#-1\n",
        b"\n##x",
        b"\n#4294967296\n",
        b"\n#12345678901",
    ],
)
def test_parse_chunk_header_rejects(buffer: bytes) -> None:
    with pytest.raises(FramingError):
        parse_chunk_header(buffer)


def _decode_bytewise(decoder: MessageDecoder, stream: bytes) -> list[bytes]:
    messages = []
    for index in range(len(stream)):
        decoder.feed(stream[index : index + 1])
        while (message := decoder.next_message()) is not None:
            messages.append(message)
    return messages


@pytest.mark.parametrize("framing", [Framing.EOM, Framing.CHUNKED])
def test_decoder_bytewise_roundtrip(framing: Framing) -> None:
    payloads = [b"<rpc>one</rpc>", "<rpc>zwei – ü</rpc>".encode(), b"<rpc/>" * 50]
    stream = b"".join(frame_message(p, framing, chunk_size=9) for p in payloads)
    assert _decode_bytewise(MessageDecoder(framing), stream) == payloads


def test_decoder_switches_framing_with_bytes_already_buffered() -> None:
    decoder = MessageDecoder()
    decoder.feed(b"<hello/>" + EOM + b"\n" + frame_message(b"<rpc/>", Framing.CHUNKED))
    assert decoder.next_message() == b"<hello/>"
    decoder.framing = Framing.CHUNKED
    assert decoder.next_message() == b"<rpc/>"
    assert decoder.next_message() is None


def test_decoder_rejects_end_marker_without_chunk() -> None:
    decoder = MessageDecoder(Framing.CHUNKED)
    decoder.feed(b"\n##\n")
    with pytest.raises(FramingError):
        decoder.next_message()


@pytest.mark.parametrize(
    ("server", "client", "expected"),
    [
        (("1.0", "1.1"), (rn.BASE_1_0, rn.BASE_1_1), Framing.CHUNKED),
        (("1.0", "1.1"), (rn.BASE_1_0,), Framing.EOM),
        (("1.0",), (rn.BASE_1_0, rn.BASE_1_1), Framing.EOM),
        (("1.1",), (rn.BASE_1_1,), Framing.CHUNKED),
    ],
)
def test_negotiate_framing(
    server: tuple[str, ...], client: tuple[str, ...], expected: Framing
) -> None:
    assert negotiate_framing(server, client) is expected


@pytest.mark.parametrize(
    ("server", "client"), [(("1.0",), (rn.BASE_1_1,)), (("1.1",), (rn.BASE_1_0,)), (("1.0",), ())]
)
def test_negotiate_framing_without_common_base(
    server: tuple[str, ...], client: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        negotiate_framing(server, client)


# ---------------------------------------------------------------------------
# Renderers (pure)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mbps", "text"),
    [
        (0, "Unspecified"),
        (100, "100mbps"),
        (1000, "1000mbps"),
        (2500, "2500mbps"),
        (10_000, "10Gbps"),
        (25_000, "25Gbps"),
        (100_000, "100Gbps"),
        (12_345, "12345mbps"),
    ],
)
def test_junos_speed(mbps: int, text: str) -> None:
    assert rn.junos_speed(mbps) == text


def _tree(text: str) -> etree._Element:
    return etree.fromstring(text, etree.XMLParser(remove_blank_text=True))


DATA = """<top xmlns="urn:t"><list><item><key>a</key><v>1</v><w>x</w></item>
<item><key>b</key><v>2</v></item></list><other>o</other></top>"""


@pytest.mark.parametrize(
    ("filter_xml", "expected"),
    [
        ('<top xmlns="urn:t"/>', DATA),
        ('<top xmlns="urn:t"><other/></top>', '<top xmlns="urn:t"><other>o</other></top>'),
        (
            '<top xmlns="urn:t"><list><item><key>b</key></item></list></top>',
            '<top xmlns="urn:t"><list><item><key>b</key><v>2</v></item></list></top>',
        ),
        (
            '<top xmlns="urn:t"><list><item><key/><w/></item></list></top>',
            '<top xmlns="urn:t"><list><item><key>a</key><w>x</w></item>'
            "<item><key>b</key></item></list></top>",
        ),
        (
            '<top xmlns="urn:t"><list><item><key>a</key><v/></item></list></top>',
            '<top xmlns="urn:t"><list><item><key>a</key><v>1</v></item></list></top>',
        ),
        ('<top xmlns="urn:t"><list><item><key>z</key></item></list></top>', None),
        ('<top xmlns="urn:other"/>', None),
        ('<top xmlns="urn:t"><missing/></top>', None),
        ("<top><other/></top>", '<top xmlns="urn:t"><other>o</other></top>'),
    ],
    ids=[
        "select-all",
        "select-leaf",
        "content-match",
        "containment",
        "match-and-select",
        "no-match",
        "other-namespace",
        "missing",
        "no-namespace",
    ],
)
def test_subtree_filter(filter_xml: str, expected: str | None) -> None:
    result = rn.apply_subtree_filter([_tree(DATA)], [_tree(filter_xml)])
    want = [] if expected is None else [etree.tostring(_tree(expected))]
    assert [etree.tostring(r) for r in result] == want


def test_iosxr_lists_pair_up_by_position() -> None:
    root = rn.render_iosxr_interfaces(IOSXR_DEVICE)
    ns = {"i": rn.XR_IF_OPER_NS}
    brief = root.xpath("i:interfaces/i:interface/i:interface-name/text()", namespaces=ns)
    detail = root.xpath("i:interface-xr/i:interface/i:interface-name/text()", namespaces=ns)
    assert brief == detail == sorted(i.name for i in IOSXR_DEVICE.interfaces)
