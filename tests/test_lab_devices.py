"""Simulated devices reached by NAPALM's real drivers, through Nornir, over real protocols.

Every case states one device (the same interfaces under each platform's own names), serves it
with the simulator for its transport, runs ``napalm_get(getters=["get_interfaces"])`` through
Nornir, and compares the getter's result with the model field by field. Where a platform or its
NAPALM driver cannot report a model value as given, the case lists the difference explicitly as
a :class:`Quirk`, with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir_napalm.plugins.tasks import napalm_get

from tests.lab.devices import render
from tests.lab.devices.fleet import (
    Fleet,
    FleetDevice,
    NetconfUnavailableError,
    fleet_addresses,
    netconf_available,
    start_fleet,
)
from tests.lab.devices.model import SimDevice, SimInterface
from tests.lab.devices.sshcli import port_is_free

# ------------------------------------------------------------------------- the one device

ROLES: dict[str, SimInterface] = {
    "uplink": SimInterface(
        "", True, True, "uplink to core – Zürich «DC1»", 10_000, 9214, "52:54:00:0A:00:01"
    ),
    "access": SimInterface("", True, True, "", 1_000, 1500, "52:54:00:0A:00:02"),
    "spare": SimInterface(
        "", False, False, "spare - do not use", 25_000, 1500, "52:54:00:0A:00:03"
    ),
    "printer": SimInterface("", True, False, "printer, 2nd floor", 100, 1500, "52:54:00:0A:00:04"),
    "subif": SimInterface("", True, True, "customer A vlan 100", 10_000, 1500, "52:54:00:0A:00:01"),
    "lag": SimInterface("", True, True, "bond to peer", 20_000, 9214, "52:54:00:0A:00:10"),
    "loopback": SimInterface("", True, True, "router-id", 0, 1514, ""),
    "svi": SimInterface("", True, False, "users – floor 2", 0, 1500, "52:54:00:0A:01:00"),
}
"""Role -> interface (name filled in per platform): several speeds, one admin-down port, one
oper-down port, a unicode description with spaces, a loopback without MAC, a subinterface,
a port-channel and a VLAN interface that is enabled but down."""

NAMES: dict[str, tuple[str, ...]] = {
    "ios": (
        "TenGigabitEthernet0/0",
        "GigabitEthernet0/1",
        "TwentyFiveGigE0/2",
        "FastEthernet0/3",
        "TenGigabitEthernet0/0.100",
        "Port-channel10",
        "Loopback0",
        "Vlan100",
    ),
    "nxos": (
        "Ethernet1/1",
        "Ethernet1/2",
        "Ethernet1/3",
        "Ethernet1/4",
        "Ethernet1/1.100",
        "port-channel10",
        "loopback0",
        "Vlan100",
    ),
    "eos": (
        "Ethernet1",
        "Ethernet2",
        "Ethernet3",
        "Ethernet4",
        "Ethernet1.100",
        "Port-Channel10",
        "Loopback0",
        "Vlan100",
    ),
    "junos": (
        "xe-0/0/0",
        "ge-0/0/1",
        "et-0/0/2",
        "fe-0/0/3",
        "xe-0/0/0.100",
        "ae10",
        "lo0",
        "irb.100",
    ),
    "iosxr": (
        "TenGigE0/0/0/0",
        "GigabitEthernet0/0/0/1",
        "TwentyFiveGigE0/0/0/2",
        "GigabitEthernet0/0/0/3",
        "TenGigE0/0/0/0.100",
        "Bundle-Ether10",
        "Loopback0",
        "BVI100",
    ),
}
"""Naming family -> interface names, in the order of :data:`ROLES`."""


class Quirk(NamedTuple):
    """A field where a platform's NAPALM result cannot equal the model.

    Attributes:
        role: Which interface (key of :data:`ROLES`, or the name of a ``Case.extra`` one).
        field: ``name`` or a key of NAPALM's interface dict.
        value: What NAPALM returns instead.
        why: The platform or driver behaviour behind it.
    """

    role: str
    field: str
    value: object
    why: str


_IOS_LOOPBACK_BW = "IOS prints a loopback's default BW 8000000 Kbit; NAPALM reads speed from BW"
_IOS_SVI_BW = "IOS prints an SVI's default BW 1000000 Kbit; NAPALM reads speed from BW"
_NXOS_LOOPBACK_BW = "NX-OS prints a loopback's default BW 8000000 Kbit; NAPALM reads speed from BW"
_NXOS_SVI_BW = "NX-OS prints an SVI's default BW 1000000 Kbit; NAPALM reads speed from BW"

IOS_QUIRKS = (
    Quirk("loopback", "speed", 8000.0, _IOS_LOOPBACK_BW),
    Quirk("svi", "speed", 1000.0, _IOS_SVI_BW),
)
NXOS_SSH_QUIRKS = (
    Quirk("loopback", "name", "Loopback0", "nxos_ssh canonicalises 'loopback0' (netutils)"),
    Quirk("lag", "name", "Port-channel10", "nxos_ssh canonicalises 'port-channel10' (netutils)"),
    Quirk("loopback", "speed", 8000.0, _NXOS_LOOPBACK_BW),
    Quirk("svi", "speed", 1000.0, _NXOS_SVI_BW),
    Quirk(
        "svi",
        "mac_address",
        "",
        "NX-OS prints an SVI's MAC as 'Hardware is EtherSVI, address is ...'; nxos_ssh only "
        "matches 'Hardware: ..., address: ...'",
    ),
)
NXAPI_QUIRKS = (
    Quirk("loopback", "speed", 8000.0, _NXOS_LOOPBACK_BW),
    Quirk("svi", "speed", 1000.0, _NXOS_SVI_BW),
    Quirk(
        "svi",
        "is_up",
        True,
        "nxos (NX-API) sets is_up from svi_admin_state for VLAN interfaces, not svi_line_proto",
    ),
)

_JUNOS_UNSPECIFIED = (
    "Junos prints <speed>Unspecified</speed> for an unknown speed; the junos driver then keeps "
    "its -1.0 default"
)
_JUNOS_UNIT = (
    "the junos driver reads a logical unit's {} from its physical interface (view field ../{})"
)
JUNOS_QUIRKS = (
    Quirk("irb", "speed", -1.0, _JUNOS_UNSPECIFIED),
    Quirk("loopback", "speed", -1.0, _JUNOS_UNSPECIFIED),
    Quirk(
        "loopback",
        "mac_address",
        "None",
        "lo0 has no <current-physical-address>; the junos driver's fallback is str(None)",
    ),
    Quirk("subif", "mtu", 9214, _JUNOS_UNIT.format("MTU", "mtu") + ": xe-0/0/0 has 9214"),
    Quirk("svi", "is_up", True, _JUNOS_UNIT.format("is_up", "oper-status") + ": irb is up"),
    Quirk("svi", "speed", -1.0, _JUNOS_UNIT.format("speed", "speed") + ": irb's is Unspecified"),
    Quirk("svi", "mtu", 1514, _JUNOS_UNIT.format("MTU", "mtu") + ": irb has 1514"),
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One platform / transport under test.

    Attributes:
        id: Test id (also the device name suffix).
        platform: NAPALM driver.
        transport: ``ssh``, ``https`` or ``netconf``.
        naming: Key of :data:`NAMES`.
        quirks: Known differences between the model and NAPALM's result.
        extra: Interfaces the platform needs besides the roles (Junos' ``irb.100`` is a unit
            of the physical ``irb``); quirks address them by name.
    """

    id: str
    platform: str
    transport: str
    naming: str
    quirks: tuple[Quirk, ...] = ()
    extra: tuple[SimInterface, ...] = ()

    def interfaces(self) -> dict[str, SimInterface]:
        """Role (or, for ``extra`` interfaces, name) -> interface of the case's device."""
        roles = {
            role: dataclasses.replace(spec, name=name)
            for (role, spec), name in zip(ROLES.items(), NAMES[self.naming], strict=True)
        }
        return roles | {i.name: i for i in self.extra}

    @property
    def device(self) -> SimDevice:
        """The case's device: every role under this platform's names, plus ``extra``."""
        interfaces = tuple(self.interfaces().values())
        return SimDevice(f"lab-{self.id}", self.platform, self.transport, interfaces)

    def expected(self) -> dict[str, dict[str, Any]]:
        """NAPALM's ``get_interfaces`` result for the device, quirks applied."""
        expected: dict[str, dict[str, Any]] = {}
        for role, interface in self.interfaces().items():
            fields = _napalm_fields(interface)
            overrides = {q.field: q.value for q in self.quirks if q.role == role}
            fields.update({k: v for k, v in overrides.items() if k != "name"})
            expected[str(overrides.get("name", interface.name))] = fields
        return expected


def _napalm_fields(interface: SimInterface) -> dict[str, Any]:
    """The NAPALM interface dict a model interface should produce."""
    return {
        "is_enabled": interface.enabled,
        "is_up": interface.up,
        "description": interface.description,
        "speed": float(interface.speed_mbps),
        "mtu": interface.mtu,
        "mac_address": interface.mac.upper(),
        "last_flapped": -1.0,
    }


CASES = (
    Case("ios", "ios", "ssh", "ios", IOS_QUIRKS),
    Case("nxos-ssh", "nxos_ssh", "ssh", "nxos", NXOS_SSH_QUIRKS),
    Case("eos-ssh", "eos", "ssh", "eos"),
    Case("eos-eapi", "eos", "https", "eos"),
    Case("nxos-nxapi", "nxos", "https", "nxos", NXAPI_QUIRKS),
    Case(
        "junos",
        "junos",
        "netconf",
        "junos",
        JUNOS_QUIRKS,
        extra=(SimInterface("irb", True, True, "", 0, 1514, "52:54:00:0A:01:00"),),
    ),
    Case("iosxr-netconf", "iosxr_netconf", "netconf", "iosxr"),
)

NETCONF_MISSING = (
    "tests/lab/devices/netconf.py (start_netconf_device) does not exist yet; "
    "NETCONF devices cannot be served"
)


def _param(case: Case) -> Any:
    """pytest param for a case; NETCONF cases xfail while netconf.py is missing."""
    marks = []
    if case.transport == "netconf":
        marks.append(
            pytest.mark.xfail(
                not netconf_available(),
                reason=NETCONF_MISSING,
                raises=NetconfUnavailableError,
                strict=True,
            )
        )
    return pytest.param(case, id=case.id, marks=marks)


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def shared_fleet() -> Iterator[Fleet]:
    """One fleet holding every non-NETCONF case's device."""
    with start_fleet([c.device for c in CASES if c.transport != "netconf"]) as fleet:
        yield fleet


def _reach(case: Case, shared: Fleet, stack: contextlib.ExitStack) -> FleetDevice:
    """The running device of a case: from the shared fleet, or a fleet of its own (NETCONF)."""
    name = case.device.name
    if name in shared.devices:
        return shared[name]
    return stack.enter_context(start_fleet([case.device], first_ip="127.0.10.101"))[name]


def _nornir(tmp_path: Path, devices: Sequence[FleetDevice], port: int) -> Nornir:
    """Nornir over SimpleInventory files; the port is set once, in the defaults."""
    hosts = {d.name: d.nornir_host(with_port=False) for d in devices}
    files = {"hosts": hosts, "groups": {}, "defaults": {"port": port}}
    for stem, content in files.items():
        (tmp_path / f"{stem}.yaml").write_text(json.dumps(content, ensure_ascii=False), "utf-8")
    return InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": 10}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(tmp_path / "hosts.yaml"),
                "group_file": str(tmp_path / "groups.yaml"),
                "defaults_file": str(tmp_path / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )


def _get_interfaces(nr: Nornir) -> dict[str, dict[str, dict[str, Any]]]:
    """Run napalm_get(get_interfaces) on every host; fail with the hosts' errors if any."""
    try:
        result = nr.run(task=napalm_get, getters=["get_interfaces"])
    finally:
        nr.close_connections()
    failures = {name: str(r[0].exception or r[0].result) for name, r in result.items() if r.failed}
    assert not failures, failures
    return {name: r[0].result["get_interfaces"] for name, r in result.items()}


def _assert_napalm_types(interfaces: Mapping[str, Mapping[str, Any]]) -> None:
    """Check value types exactly (``==`` alone would accept ``1000`` for ``1000.0``)."""
    types = {
        "is_enabled": bool,
        "is_up": bool,
        "description": str,
        "speed": float,
        "mtu": int,
        "mac_address": str,
        "last_flapped": float,
    }
    for name, fields in interfaces.items():
        actual = {key: type(value) for key, value in fields.items()}
        assert actual == types, name


# ------------------------------------------------------------------------------------ tests


@pytest.mark.lab
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_get_interfaces_returns_exactly_the_model(
    case: Case, shared_fleet: Fleet, tmp_path: Path
) -> None:
    """NAPALM's real driver returns the modelled interfaces, quirks stated per platform."""
    with contextlib.ExitStack() as stack:
        device = _reach(case, shared_fleet, stack)
        interfaces = _get_interfaces(_nornir(tmp_path, [device], device.port))[device.name]
    assert interfaces == case.expected()
    _assert_napalm_types(interfaces)


@pytest.mark.lab
def test_fleet_shares_one_port_on_consecutive_loopbacks(
    shared_fleet: Fleet, tmp_path: Path
) -> None:
    """Each device has its own 127.x address, all on one port, and one Nornir run reaches all."""
    devices = list(shared_fleet)
    assert [d.ip for d in devices] == fleet_addresses("127.0.10.1", len(devices))
    assert {d.port for d in devices} == {shared_fleet.port}
    assert {(d.username, d.password) for d in devices} == {("admin", "admin")}
    assert all(shared_fleet.device_at(d.ip) is d for d in devices)
    results = _get_interfaces(_nornir(tmp_path, devices, shared_fleet.port))
    by_name = {c.device.name: c for c in CASES}
    assert {name: set(r) for name, r in results.items()} == {
        d.name: set(by_name[d.name].expected()) for d in devices
    }


@pytest.mark.lab
def test_napalm_extras_per_platform(shared_fleet: Fleet) -> None:
    """The optional_args each transport needs (the port comes from Nornir)."""
    extras = {d.name: d.napalm_extras for d in shared_fleet}
    assert extras == {
        "lab-ios": {},
        "lab-nxos-ssh": {},
        "lab-eos-ssh": {"transport": "ssh"},
        "lab-eos-eapi": {"transport": "https", "enforce_verification": False},
        "lab-nxos-nxapi": {"transport": "https", "ssl_verify": False},
    }


@pytest.mark.lab
@pytest.mark.parametrize("isolate", [True, False], ids=["subprocess", "in-process"])
def test_stop_releases_ports_and_process(isolate: bool, tmp_path: Path) -> None:
    """Both run modes serve NAPALM and, once stopped, leave no listener and no process."""
    cases = [c for c in CASES if c.id in {"ios", "eos-eapi"}]
    fleet = start_fleet([c.device for c in cases], first_ip="127.0.10.201", isolate=isolate)
    try:
        assert (fleet.pid is not None) is isolate
        results = _get_interfaces(_nornir(tmp_path, list(fleet), fleet.port))
        assert set(results) == {c.device.name for c in cases}
    finally:
        fleet.stop()
    fleet.stop()
    assert fleet.stopped
    assert all(port_is_free(d.ip, d.port) for d in fleet)
    if fleet.pid is not None:
        with pytest.raises(ProcessLookupError):
            os.kill(fleet.pid, 0)


@pytest.mark.lab
def test_https_api_requires_credentials(shared_fleet: Fleet) -> None:
    """eAPI and NX-API answer 401 to wrong credentials, like the real devices."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    token = base64.b64encode(b"admin:wrong").decode()
    for name, path in (("lab-eos-eapi", "/command-api"), ("lab-nxos-nxapi", "/ins")):
        device = shared_fleet[name]
        request = urllib.request.Request(
            f"https://{device.ip}:{device.port}{path}",
            data=b"{}",
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json-rpc"},
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, context=context, timeout=10)  # noqa: S310
        assert error.value.code == 401


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_quirks_name_real_interfaces_and_fields(case: Case) -> None:
    """Every quirk addresses an interface of its case and a field NAPALM reports."""
    fields = {*_napalm_fields(ROLES["access"]), "name"}
    for quirk in case.quirks:
        assert quirk.role in case.interfaces(), quirk
        assert quirk.field in fields, quirk
        assert quirk.why, quirk


def test_fleet_addresses_stay_in_loopback() -> None:
    """Addresses outside 127.0.0.0/8 are refused."""
    assert fleet_addresses("127.0.10.254", 3) == ["127.0.10.254", "127.0.10.255", "127.0.11.0"]
    with pytest.raises(ValueError, match=r"127\.x"):
        fleet_addresses("10.0.0.1", 1)
    with pytest.raises(ValueError, match=r"127\.x"):
        fleet_addresses("127.255.255.254", 2)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Ethernet1/1", render.InterfaceKind.PHYSICAL),
        ("TenGigabitEthernet0/0.100", render.InterfaceKind.SUBINTERFACE),
        ("port-channel10", render.InterfaceKind.LAG),
        ("Bundle-Ether10", render.InterfaceKind.LAG),
        ("ae10", render.InterfaceKind.LAG),
        ("lo0", render.InterfaceKind.LOOPBACK),
        ("Loopback0", render.InterfaceKind.LOOPBACK),
        ("Vlan100", render.InterfaceKind.VLAN),
        ("irb.100", render.InterfaceKind.VLAN),
        ("mgmt0", render.InterfaceKind.MANAGEMENT),
    ],
)
def test_interface_kind(name: str, kind: render.InterfaceKind) -> None:
    """Interface names map to the kind that decides what a platform prints."""
    assert render.interface_kind(name) is kind


def test_cisco_mac() -> None:
    """Colon MACs become Cisco's dotted form."""
    assert render.cisco_mac("52:54:00:0A:00:01") == "5254.000a.0001"
