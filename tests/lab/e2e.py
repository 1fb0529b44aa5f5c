"""Scenarios for the end-to-end tests: simulated devices, their NetBox seed, and what NetBox
must hold after one sync.

Every scenario is the same small router (an uplink with a subinterface, an access port, an
admin-down spare port, a LAG, a loopback and a VLAN interface) under one platform's names,
served by the fleet and read by NAPALM's real driver. NetBox is seeded with the uplink right,
the access port wrong (description, MTU, enabled), one stale interface the device does not
have, and the management interface :func:`tests.lab.seed.create_device` adds; everything else
is missing. Where a platform or its NAPALM driver reports a value other than the model's, the
scenario states the difference as a :class:`Quirk` with its reason (the same behaviours
``tests/test_lab_devices.py`` documents).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from tests.lab.devices.fleet import Fleet, FleetDevice
from tests.lab.devices.model import SimDevice, SimInterface
from tests.lab.seed import DEFAULT_MGMT_INTERFACE, create_device, create_interfaces

ROLES: dict[str, SimInterface] = {
    "uplink": SimInterface(
        "", True, True, "uplink to core – Zürich «DC1»", 10_000, 9214, "52:54:00:0B:00:01"
    ),
    "access": SimInterface("", True, True, "users – floor 1", 1_000, 1500, "52:54:00:0B:00:02"),
    "spare": SimInterface(
        "", False, False, "spare - do not use", 25_000, 1500, "52:54:00:0B:00:03"
    ),
    "subif": SimInterface("", True, True, "customer A vlan 100", 10_000, 1500, "52:54:00:0B:00:01"),
    "lag": SimInterface("", True, True, "bond to peer", 20_000, 9214, "52:54:00:0B:00:10"),
    "loopback": SimInterface("", True, True, "router-id", 0, 1514, ""),
    "svi": SimInterface("", True, False, "users vlan", 0, 1500, "52:54:00:0B:01:00"),
}
"""Role -> interface; the name is filled in per platform."""

NETBOX_TYPES: dict[str, str] = {
    "uplink": "10gbase-x-sfpp",
    "access": "1000base-t",
    "spare": "25gbase-x-sfp28",
    "subif": "virtual",
    "lag": "lag",
    "loopback": "virtual",
    "svi": "virtual",
}
"""Role -> NetBox type after the sync: the seeded type for the seeded ports, else the type the
sync gives a new interface (by name or speed for a port, ``virtual`` / ``lag`` by kind)."""

SEEDED_RIGHT = "uplink"
"""The role seeded in NetBox exactly as the device has it."""
SEEDED_WRONG = "access"
"""The role seeded with a wrong description, MTU and enabled flag."""
WRONG_VALUES: dict[str, Any] = {"description": "old description", "mtu": 1400, "enabled": False}
"""The wrong values of :data:`SEEDED_WRONG`."""
SPEEDLESS_ROLES = frozenset({"subif", "loopback", "svi"})
"""Roles NetBox keeps without a speed: the sync writes no speed on a virtual interface, whatever
the driver reports (IOS and NX-OS report a loopback's and a VLAN interface's default bandwidth,
8000 and 1000 Mbit/s; Junos reports -1 for "Unspecified"; a subinterface reports its
parent's)."""


class Quirk(NamedTuple):
    """Where NetBox ends up with another value than the model's, and why.

    Attributes:
        role: A key of :data:`ROLES`, or the name of a scenario's ``extra`` interface.
        field: A field of :class:`NetBoxInterface`.
        value: The value NetBox holds after the sync.
        why: The platform or driver behaviour behind it.
    """

    role: str
    field: str
    value: object
    why: str


@dataclasses.dataclass(frozen=True)
class NetBoxInterface:
    """The fields of one NetBox interface the end-to-end tests compare.

    Attributes:
        type: NetBox type value.
        enabled: Enabled flag.
        description: Description.
        mtu: MTU in bytes, or None.
        speed: Speed in kbit/s, or None.
        mac: Primary MAC address (upper case), or None.
        parent: Name of the parent interface, or None.
    """

    type: str
    enabled: bool
    description: str
    mtu: int | None
    speed: int | None
    mac: str | None
    parent: str | None = None


@dataclasses.dataclass(frozen=True)
class ExtraInterface:
    """An interface a platform needs besides the roles.

    Attributes:
        interface: As the device reports it.
        netbox: What NetBox holds after the sync.
    """

    interface: SimInterface
    netbox: NetBoxInterface


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One platform / transport, end to end.

    Attributes:
        id: Test id.
        netbox_platform: Slug of the NetBox platform the device gets.
        driver: The NAPALM driver the transform function must choose.
        transport: Fleet transport: ``ssh``, ``https`` or ``netconf``.
        names: Role -> interface name on the device.
        stale: Name of the interface only NetBox has.
        quirks: Values NetBox ends up with that differ from the model.
        extra: Interfaces besides the roles.
    """

    id: str
    netbox_platform: str
    driver: str
    transport: str
    names: Mapping[str, str]
    stale: str
    quirks: tuple[Quirk, ...] = ()
    extra: tuple[ExtraInterface, ...] = ()

    @property
    def device(self) -> SimDevice:
        """The simulated device."""
        roles = tuple(dataclasses.replace(ROLES[r], name=n) for r, n in self.names.items())
        extra = tuple(e.interface for e in self.extra)
        return SimDevice(f"e2e-{self.id}", self.driver, self.transport, roles + extra)

    def netbox_name(self, role: str) -> str:
        """The name NetBox holds for a role after the sync (a quirk may rename it)."""
        renamed = [q.value for q in self.quirks if q.role == role and q.field == "name"]
        return str(renamed[0]) if renamed else self.names[role]

    def expected(self) -> dict[str, NetBoxInterface]:
        """NetBox's interfaces of the device after one sync (stale and management ones too)."""
        expected = {
            self.netbox_name(role): self._expected_role(role, ROLES[role]) for role in self.names
        }
        expected.update({e.interface.name: e.netbox for e in self.extra})
        expected[self.stale] = STALE
        expected[DEFAULT_MGMT_INTERFACE] = MANAGEMENT
        return expected

    def _expected_role(self, role: str, model: SimInterface) -> NetBoxInterface:
        values = NetBoxInterface(
            type=NETBOX_TYPES[role],
            enabled=model.enabled,
            description=model.description,
            mtu=model.mtu,
            speed=None if role in SPEEDLESS_ROLES else model.speed_mbps * 1000,
            mac=model.mac or None,
            parent=self.names[SEEDED_RIGHT] if role == "subif" else None,
        )
        overrides: dict[str, Any] = {
            q.field: q.value for q in self.quirks if q.role == role and q.field != "name"
        }
        return dataclasses.replace(values, **overrides)

    @property
    def created(self) -> frozenset[str]:
        """Names the sync creates."""
        roles = set(self.names) - {SEEDED_RIGHT, SEEDED_WRONG}
        return frozenset(
            {self.netbox_name(r) for r in roles} | {e.interface.name for e in self.extra}
        )

    @property
    def not_on_device(self) -> frozenset[str]:
        """NetBox interfaces the device does not report."""
        return frozenset({self.stale, DEFAULT_MGMT_INTERFACE})


STALE = NetBoxInterface("1000base-t", True, "removed line card", None, None, None)
"""The stale interface as seeded; the sync leaves it alone."""
MANAGEMENT = NetBoxInterface("virtual", True, "", None, None, None)
"""The management interface :func:`tests.lab.seed.create_device` adds; left alone."""


def _names(*names: str) -> dict[str, str]:
    return dict(zip(ROLES, names, strict=True))


IOS_NAMES = _names(
    "TenGigabitEthernet0/0",
    "GigabitEthernet0/1",
    "TwentyFiveGigE0/2",
    "TenGigabitEthernet0/0.100",
    "Port-channel10",
    "Loopback0",
    "Vlan100",
)
EOS_NAMES = _names(
    "Ethernet1", "Ethernet2", "Ethernet3", "Ethernet1.100", "Port-Channel10", "Loopback0", "Vlan100"
)
NXOS_NAMES = _names(
    "Ethernet1/1",
    "Ethernet1/2",
    "Ethernet1/3",
    "Ethernet1/1.100",
    "port-channel10",
    "loopback0",
    "Vlan100",
)
IOSXR_NAMES = _names(
    "TenGigE0/0/0/0",
    "GigabitEthernet0/0/0/1",
    "TwentyFiveGigE0/0/0/2",
    "TenGigE0/0/0/0.100",
    "Bundle-Ether10",
    "Loopback0",
    "BVI100",
)
JUNOS_NAMES = _names("xe-0/0/0", "ge-0/0/1", "et-0/0/2", "xe-0/0/0.100", "ae10", "lo0", "irb.100")

_NXOS_SSH_QUIRKS = (
    Quirk("loopback", "name", "Loopback0", "nxos_ssh canonicalises 'loopback0' (netutils)"),
    Quirk("lag", "name", "Port-channel10", "nxos_ssh canonicalises 'port-channel10' (netutils)"),
    Quirk(
        "svi",
        "mac",
        None,
        "NX-OS prints an SVI's MAC as 'Hardware is EtherSVI, address is ...'; nxos_ssh only "
        "matches 'Hardware: ..., address: ...', so it reports no MAC",
    ),
)
_JUNOS_UNIT = "the junos driver reads a logical unit's MTU from its physical interface"
_JUNOS_IRB = SimInterface("irb", True, True, "", 0, 1514, "52:54:00:0B:01:00")
_JUNOS_QUIRKS = (
    Quirk("subif", "mtu", 9214, _JUNOS_UNIT + ": xe-0/0/0 has 9214"),
    Quirk("svi", "mtu", 1514, _JUNOS_UNIT + ": irb has 1514"),
    Quirk("svi", "parent", "irb", "irb.100 is a logical unit of irb"),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("ios", "cisco-ios", "ios", "ssh", IOS_NAMES, "GigabitEthernet0/9"),
    Scenario("eos-eapi", "arista-eos", "eos", "https", EOS_NAMES, "Ethernet9"),
    Scenario("eos-ssh", "arista-eos", "eos", "ssh", EOS_NAMES, "Ethernet9"),
    Scenario("nxos-nxapi", "cisco-nxos", "nxos", "https", NXOS_NAMES, "Ethernet1/9"),
    Scenario(
        "nxos-ssh", "nxos_ssh", "nxos_ssh", "ssh", NXOS_NAMES, "Ethernet1/9", _NXOS_SSH_QUIRKS
    ),
    Scenario(
        "iosxr-netconf",
        "iosxr_netconf",
        "iosxr_netconf",
        "netconf",
        IOSXR_NAMES,
        "GigabitEthernet0/0/0/9",
    ),
    Scenario(
        "junos",
        "juniper-junos",
        "junos",
        "netconf",
        JUNOS_NAMES,
        "ge-0/0/9",
        _JUNOS_QUIRKS,
        extra=(
            ExtraInterface(
                _JUNOS_IRB, NetBoxInterface("virtual", True, "", 1514, None, "52:54:00:0B:01:00")
            ),
        ),
    ),
)
"""One scenario per platform and transport the fleet serves."""


# ------------------------------------------------------------------------------ NetBox


def _rest_values(interface: NetBoxInterface) -> dict[str, Any]:
    values: dict[str, Any] = {
        "type": interface.type,
        "enabled": interface.enabled,
        "description": interface.description,
        "mtu": interface.mtu,
        "speed": interface.speed,
    }
    if interface.mac is not None:
        values["mac_address"] = interface.mac
    return values


def seed_interfaces(api: Any, scenario: Scenario, device_id: int) -> None:
    """Give a NetBox device the scenario's interfaces: one right, one wrong, one stale."""
    expected = scenario.expected()
    right, wrong = (scenario.names[r] for r in (SEEDED_RIGHT, SEEDED_WRONG))
    create_interfaces(
        api,
        device_id,
        [
            {"name": right, **_rest_values(expected[right])},
            {"name": wrong, **_rest_values(expected[wrong]), **WRONG_VALUES},
            {"name": scenario.stale, **_rest_values(STALE)},
        ],
    )


@contextmanager
def seeded_devices(
    api: Any, fleet: Fleet, scenarios: Sequence[Scenario]
) -> Iterator[dict[str, tuple[Scenario, int]]]:
    """Seed one NetBox device per scenario at its fleet device's address; delete them after
    (in one request).

    The devices must go before another one takes the same address: NetBox refuses a second IP
    address equal to an existing one.

    Yields:
        Device (and Nornir host) name -> (scenario, NetBox device id).
    """
    devices: dict[str, tuple[Scenario, int]] = {}
    try:
        for scenario in scenarios:
            name = f"{scenario.device.name}-{uuid.uuid4().hex[:6]}"
            ip = fleet[scenario.device.name].ip
            device_id = create_device(api, name, scenario.netbox_platform, primary_ip=ip)
            devices[name] = (scenario, device_id)
            seed_interfaces(api, scenario, device_id)
        yield devices
    finally:
        if devices:
            api.dcim.devices.delete([device_id for _, device_id in devices.values()])


def netbox_state(api: Any, device_id: int) -> dict[str, NetBoxInterface]:
    """Every interface of a NetBox device, by name."""
    return {
        str(record.name): NetBoxInterface(
            type=str(record.type.value),
            enabled=bool(record.enabled),
            description=str(record.description),
            mtu=record.mtu,
            speed=record.speed,
            mac=str(record.mac_address).upper() if record.mac_address else None,
            parent=str(record.parent.name) if record.parent else None,
        )
        for record in api.dcim.interfaces.filter(device_id=device_id, limit=1000)
    }


# ------------------------------------------------------------------------------- Nornir


def platform_groups(devices: Iterable[tuple[Scenario, FleetDevice]]) -> dict[str, Any]:
    """NetBoxInventory2 group file content: the NAPALM optional_args of each NetBox platform.

    NetBoxInventory2 puts each host in the group ``platform__<slug>``; the driver itself is
    left to the transform function.

    Raises:
        ValueError: Two devices of one NetBox platform need different optional_args.
    """
    groups: dict[str, Any] = {}
    for scenario, device in devices:
        group = {
            "connection_options": {"napalm": {"extras": {"optional_args": device.napalm_extras}}}
        }
        name = f"platform__{scenario.netbox_platform}"
        if groups.setdefault(name, group) != group:
            raise ValueError(f"{name}: the devices of one platform need different optional_args")
    return groups


def write_config(
    directory: Path,
    *,
    nb_url: str,
    nb_token: str,
    device_names: Sequence[str],
    fleet: Fleet,
    groups: Mapping[str, Any],
    inventory_options: Mapping[str, Any] | None = None,
) -> Path:
    """Write a Nornir ``config.yaml`` (NetBoxInventory2, the sync's transform, RetryRunner).

    Args:
        directory: Where the config, defaults and groups files go.
        nb_url: NetBox URL.
        nb_token: NetBox token for the inventory (and the task, when not given ``netbox=``).
        device_names: The NetBox devices to load.
        fleet: The running fleet (its port and credentials go in the defaults).
        groups: Group file content.
        inventory_options: More NetBoxInventory2 options.

    Returns:
        The path of ``config.yaml``.
    """
    any_device = next(iter(fleet))
    defaults = {
        "username": any_device.username,
        "password": any_device.password,
        "port": fleet.port,
    }
    files = {"defaults.yaml": defaults, "groups.yaml": dict(groups)}
    for file_name, content in files.items():
        (directory / file_name).write_text(_yaml(content), "utf-8")
    config = {
        "inventory": {
            "plugin": "NetBoxInventory2",
            "options": {
                "nb_url": nb_url,
                "nb_token": nb_token,
                "filter_parameters": {"name": list(device_names)},
                "defaults_file": str(directory / "defaults.yaml"),
                "group_file": str(directory / "groups.yaml"),
                **(inventory_options or {}),
            },
            "transform_function": "netbox_napalm_platform",
        },
        "runner": {
            "plugin": "RetryRunner",
            "options": {
                "num_workers": 4,
                "num_connectors": 4,
                "connect_retry": 1,
                "connect_backoff": 200,
                "connect_splay": 1,
                "task_retry": 0,
                "task_backoff": 200,
                "task_splay": 1,
            },
        },
        "logging": {"enabled": False},
    }
    path = directory / "config.yaml"
    path.write_text(_yaml(config), "utf-8")
    return path


# --------------------------------------------------------------------------------- diff


def diff_changes(diff: str) -> tuple[frozenset[str], dict[tuple[str, str], str]]:
    """Read a sync's diff text.

    Returns:
        The names on ``+`` (create) lines, and (name, field) -> ``old → new`` of the ``~``
        (update) lines, values as the diff prints them (JSON).
    """
    creates: set[str] = set()
    updates: dict[tuple[str, str], str] = {}
    for line in diff.splitlines():
        marker, _, rest = line.partition(" ")
        name, _, values = rest.partition("  ")
        if marker == "+":
            creates.add(name)
        elif marker == "~":
            field, _, change = values.partition(": ")
            updates[(name, field)] = change
    return frozenset(creates), updates


def planned_updates(scenario: Scenario) -> dict[tuple[str, str], str]:
    """(name, field) -> ``old → new`` of every update the scenario's first sync plans."""
    model = dataclasses.asdict(ROLES[SEEDED_WRONG])
    name = scenario.names[SEEDED_WRONG]
    return {
        (name, field): f"{_json(old)} → {_json(model[field])}"
        for field, old in WRONG_VALUES.items()
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _yaml(content: object) -> str:
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
