"""The benchmark's fleet: NetBox devices plus NAPALM mock-driver replies for each of them.

Every device reports the same realistic layout, scaled to the wanted number of interfaces:
physical ports ``Ethernet1`` … ``EthernetP`` (mixed speeds, MTUs, descriptions, a few
administratively down, each with its own MAC address), a LAG ``Port-Channel1``, a few routed
subinterfaces ``EthernetN.<vlan>`` and ``Loopback0``. The replies are written as mock-driver
files, so reading a device costs nothing and the benchmark measures NetBox alone.

Nothing is kept in memory per device besides its name and id: replies are generated from the
device's index when they are written, which keeps the process small at 1,000 devices.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir.core.inventory import Host

from tests.lab.inventory import mock_host, write_mock_replies
from tests.lab.seed import BASE_SEED, ROLE_SLUG, SITE_SLUG

#: Fewest and most interfaces per device the fleet can describe.
MIN_INTERFACES, MAX_INTERFACES = 8, 384
#: The NetBox platform (and mock-driver NAPALM platform) of the fleet's devices.
PLATFORM = "mock"
#: Devices created per bulk request when the fleet is seeded.
CREATE_CHUNK = 50
#: Devices deleted per bulk request when the fleet is removed.
DELETE_CHUNK = 20
#: Share of each device's interfaces the drift changes.
DRIFT_FRACTION = 0.10

_UPLINKS = 4
_SPEEDS = (10000.0, 25000.0, 1000.0, 10000.0, 25000.0, 10000.0)
_DRIFT_KINDS = ("description", "enabled", "mtu", "mac_address", "speed")


@dataclass(frozen=True)
class Layout:
    """How many interfaces of each kind a device has.

    Attributes:
        physical: Physical ports ``Ethernet1`` … ``EthernetN``.
        subinterfaces: Routed subinterfaces on the last physical ports.
    """

    physical: int
    subinterfaces: int

    @classmethod
    def for_total(cls, total: int) -> Layout:
        """Return the layout of a device with ``total`` interfaces (LAG and loopback included).

        Raises:
            ValueError: ``total`` is outside :data:`MIN_INTERFACES` … :data:`MAX_INTERFACES`.
        """
        if not MIN_INTERFACES <= total <= MAX_INTERFACES:
            raise ValueError(f"interfaces per device must be {MIN_INTERFACES}..{MAX_INTERFACES}")
        subinterfaces = max(1, total // 16)
        return cls(physical=total - 2 - subinterfaces, subinterfaces=subinterfaces)


def _mac(device: int, port: int) -> str:
    """A locally administered MAC address unique to (device, port)."""
    octets = (
        0x02,
        (device >> 16) & 0xFF,
        (device >> 8) & 0xFF,
        device & 0xFF,
        (port >> 8) & 0xFF,
        port & 0xFF,
    )
    return ":".join(f"{octet:02x}" for octet in octets)


def _entry(enabled: bool, description: str, speed: float, mtu: int, mac: str) -> dict[str, Any]:
    """One interface in NAPALM's ``get_interfaces`` shape."""
    return {
        "is_up": enabled and bool(description),
        "is_enabled": enabled,
        "description": description,
        "last_flapped": -1.0,
        "speed": speed,
        "mtu": mtu,
        "mac_address": mac,
    }


def device_interfaces(device: int, total: int) -> dict[str, dict[str, Any]]:
    """Return the ``get_interfaces`` reply of the device with index ``device``.

    Parents come before their subinterfaces, as devices list them.

    Args:
        device: The device's index in the benchmark (makes its MAC addresses unique).
        total: Interfaces per device.
    """
    layout = Layout.for_total(total)
    reply: dict[str, dict[str, Any]] = {}
    for port in range(1, layout.physical + 1):
        if port <= _UPLINKS:
            speed, mtu = 100000.0, 9214
            description = f"uplink to spine-{port} Ethernet{device % 64 + 1}/1"
        else:
            speed, mtu = _SPEEDS[port % len(_SPEEDS)], 1500
            description = f"server-{device}-{port} eth0" if port % 5 else ""
        enabled = port % 11 != 0
        reply[f"Ethernet{port}"] = _entry(enabled, description, speed, mtu, _mac(device, port))
    reply["Port-Channel1"] = _entry(True, "uplink bundle", 200000.0, 9214, _mac(device, 1))
    first_parent = layout.physical - layout.subinterfaces + 1
    for offset in range(layout.subinterfaces):
        port = first_parent + offset
        parent = reply[f"Ethernet{port}"]
        reply[f"Ethernet{port}.{100 + offset}"] = _entry(
            True, f"vlan {100 + offset} transit", parent["speed"], 1500, parent["mac_address"]
        )
    reply["Loopback0"] = _entry(True, "router id", 0.0, 65535, "")
    return reply


def drifted_interfaces(
    device: int, total: int, fraction: float = DRIFT_FRACTION
) -> tuple[dict[str, dict[str, Any]], int]:
    """Return the device's reply with ``fraction`` of its interfaces changed.

    The changed interfaces are physical ports chosen at random (seeded by the device), each
    with one change: new description, enabled flipped, MTU, MAC address or speed.

    Returns:
        The reply and the number of interfaces changed.
    """
    reply = device_interfaces(device, total)
    layout = Layout.for_total(total)
    count = max(1, round(total * fraction))
    ports = random.Random(device * 7919 + total).sample(range(1, layout.physical + 1), count)
    for number, port in enumerate(ports):
        entry = reply[f"Ethernet{port}"]
        kind = _DRIFT_KINDS[number % len(_DRIFT_KINDS)]
        if kind == "description":
            entry["description"] = f"re-patched to server-{device}-{port}b eth1"
        elif kind == "enabled":
            entry["is_enabled"] = not entry["is_enabled"]
        elif kind == "mtu":
            entry["mtu"] = 9000 if entry["mtu"] != 9000 else 1500
        elif kind == "mac_address":
            entry["mac_address"] = _mac(device, 0x8000 + port)
        else:
            entry["speed"] = 40000.0 if entry["speed"] != 40000.0 else 10000.0
    return reply, count


@dataclass(frozen=True)
class Fleet:
    """Devices created in NetBox for one measurement, with their mock-driver replies.

    Attributes:
        prefix: Common start of the device names.
        interfaces: Interfaces per device.
        devices: Device name -> NetBox id, in creation order.
        first_index: Index of the first device (MAC addresses derive from it).
        root: Directory holding one mock-reply directory per device.
    """

    prefix: str
    interfaces: int
    devices: dict[str, int]
    first_index: int
    root: Path

    def _indexed(self) -> Iterator[tuple[int, str]]:
        for offset, name in enumerate(self.devices):
            yield self.first_index + offset, name

    def write_replies(self, drift: bool = False) -> int:
        """Write every device's ``get_interfaces`` reply as mock-driver files.

        Args:
            drift: Write the drifted replies (see :func:`drifted_interfaces`).

        Returns:
            Interfaces changed per device (0 without drift).
        """
        changed = 0
        for index, name in self._indexed():
            if drift:
                reply, changed = drifted_interfaces(index, self.interfaces)
            else:
                reply = device_interfaces(index, self.interfaces)
            write_mock_replies(self.root / name, {"get_interfaces": reply})
        return changed

    def hosts(self) -> list[Host]:
        """Return a Nornir host per device, served by NAPALM's mock driver."""
        return [
            mock_host(name, device_id, self.root / name) for name, device_id in self.devices.items()
        ]

    @property
    def ids(self) -> list[int]:
        """The NetBox ids of the devices."""
        return list(self.devices.values())


def _id_of(endpoint: Any, slug: str) -> int:
    record = endpoint.get(slug=slug)
    if record is None:
        raise LookupError(f"{slug!r} is not in NetBox (is this the lab's seeded NetBox?)")
    return int(record.id)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def create_fleet(
    api: Any, prefix: str, count: int, interfaces: int, root: Path, first_index: int
) -> Fleet:
    """Create ``count`` devices (no interfaces) in NetBox and write their replies.

    Args:
        api: A pynetbox API with write permission.
        prefix: Device names are ``<prefix>-0000`` and up.
        count: Number of devices.
        interfaces: Interfaces each device reports.
        root: Directory for the mock-driver files.
        first_index: Index of the first device, to keep MAC addresses distinct between fleets.
    """
    Layout.for_total(interfaces)
    platform = BASE_SEED.platform(PLATFORM)
    common = {
        "site": _id_of(api.dcim.sites, SITE_SLUG),
        "role": _id_of(api.dcim.device_roles, ROLE_SLUG),
        "device_type": _id_of(api.dcim.device_types, platform.device_type),
        "platform": _id_of(api.dcim.platforms, platform.slug),
        "status": "active",
    }
    names = [f"{prefix}-{number:04d}" for number in range(count)]
    devices: dict[str, int] = {}
    for chunk in _chunks(names, CREATE_CHUNK):
        records = api.dcim.devices.create([{"name": name, **common} for name in chunk])
        devices.update({str(r.name): int(r.id) for r in records})
    fleet = Fleet(prefix, interfaces, devices, first_index, root / prefix)
    fleet.write_replies()
    return fleet


def delete_fleet(api: Any, fleet: Fleet) -> None:
    """Delete the fleet's devices; NetBox deletes their interfaces and MAC addresses too."""
    for chunk in _chunks(fleet.ids, DELETE_CHUNK):
        api.dcim.devices.delete(list(chunk))
