"""The demo's lab side: its simulated devices, their NetBox seed, and its Nornir files.

:data:`DEMO_DEVICES` are five devices of five NAPALM drivers, each with interfaces NetBox lacks,
has wrong, or has and the device does not. :func:`seed_netbox` puts them in a lab NetBox,
:func:`write_inventory_files` and :func:`write_config` write the ``config.yaml``,
``defaults.yaml`` and ``groups.yaml`` a user would (``config.yaml`` is
``examples/config.yaml`` with the NetBox and the device filter filled in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.lab.devices.fleet import Fleet, start_fleet
from tests.lab.devices.model import SimDevice, SimInterface
from tests.lab.seed import create_device, create_interfaces

EXAMPLES = Path(__file__).resolve().parent
FIRST_IP = "127.0.20.1"
DEMO_TAG = "nb-ifsync-demo"


@dataclass(frozen=True)
class DemoDevice:
    """A simulated device and what NetBox holds for it before the sync.

    Attributes:
        device: What the device reports.
        platform: Slug of its NetBox platform (one of the lab's seeded platforms).
        netbox: Interfaces NetBox has before the sync, as the REST API takes them.
    """

    device: SimDevice
    platform: str
    netbox: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


def _mac(device: int, port: int) -> str:
    return f"52:54:00:{device:02X}:00:{port:02X}"


def _in_netbox(name: str, type_: str, **values: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **values}


_IF = SimInterface
_SFP = "10gbase-x-sfpp"
_RJ45 = "1000base-t"

DEMO_DEVICES: tuple[DemoDevice, ...] = (
    DemoDevice(
        SimDevice(
            "ios-edge-01",
            "ios",
            "ssh",
            (
                _IF("GigabitEthernet0/0", description="uplink to core-01", mac=_mac(1, 0)),
                _IF("GigabitEthernet0/1", description="server rack 12", mac=_mac(1, 1)),
                _IF("GigabitEthernet0/2", enabled=False, up=False, description="spare"),
                _IF("GigabitEthernet0/0.100", description="customer A vlan 100", mac=_mac(1, 0)),
                _IF("Port-channel1", speed_mbps=2000, mac=_mac(1, 16)),
                _IF("Loopback0", description="router-id", speed_mbps=0, mtu=1514),
            ),
        ),
        "cisco-ios",
        (
            _in_netbox("GigabitEthernet0/0", _RJ45, description="uplink to core", mtu=9000),
            _in_netbox("GigabitEthernet0/1", _RJ45, description="server rack 12", speed=1_000_000),
            _in_netbox("GigabitEthernet0/3", _RJ45, description="old printer"),
        ),
    ),
    DemoDevice(
        SimDevice(
            "eos-leaf-01",
            "eos",
            "https",
            (
                _IF(
                    "Ethernet1",
                    description="uplink to spine-01",
                    speed_mbps=10_000,
                    mtu=9214,
                    mac=_mac(2, 1),
                ),
                _IF(
                    "Ethernet2",
                    description="esx-07 vmnic0",
                    speed_mbps=10_000,
                    mtu=9214,
                    mac=_mac(2, 2),
                ),
                _IF("Ethernet3", enabled=False, up=False, speed_mbps=10_000, mac=_mac(2, 3)),
                _IF(
                    "Port-Channel10",
                    description="mlag peer-link",
                    speed_mbps=20_000,
                    mtu=9214,
                    mac=_mac(2, 16),
                ),
                _IF("Vlan100", description="users", speed_mbps=0, mac=_mac(2, 32)),
            ),
        ),
        "arista-eos",
        (
            _in_netbox(
                "Ethernet1",
                _SFP,
                enabled=False,
                description="uplink to spine-01",
                mtu=9214,
                speed=10_000_000,
            ),
            _in_netbox("Ethernet2", _SFP, description="esx-06 vmnic0", mtu=9214),
            _in_netbox("Ethernet48", _SFP, description="decommissioned"),
        ),
    ),
    DemoDevice(
        SimDevice(
            "nxos-leaf-02",
            "nxos_ssh",
            "ssh",
            (
                _IF(
                    "Ethernet1/1",
                    description="uplink to spine-02",
                    speed_mbps=10_000,
                    mtu=9216,
                    mac=_mac(3, 1),
                ),
                _IF("Ethernet1/2", description="db-03", speed_mbps=10_000, mac=_mac(3, 2)),
                _IF("Ethernet1/3", enabled=False, up=False, speed_mbps=10_000, mac=_mac(3, 3)),
                _IF("Vlan200", description="storage", speed_mbps=0, mac=_mac(3, 32)),
            ),
        ),
        "nxos_ssh",
        (
            _in_netbox("Ethernet1/1", _SFP, description="uplink to spine-02", mtu=1500),
            _in_netbox("Ethernet1/48", _SFP, description="old uplink"),
        ),
    ),
    DemoDevice(
        SimDevice(
            "junos-core-01",
            "junos",
            "netconf",
            (
                _IF(
                    "xe-0/0/0",
                    description="to iosxr-core-02",
                    speed_mbps=10_000,
                    mtu=9192,
                    mac=_mac(4, 0),
                ),
                _IF("xe-0/0/0.0", mtu=9178),
                _IF("ge-0/0/1", description="oob switch", mtu=1514, mac=_mac(4, 1)),
                _IF(
                    "ae0", description="bond to dc-2", speed_mbps=20_000, mtu=1514, mac=_mac(4, 16)
                ),
                _IF("lo0", description="router-id", speed_mbps=0, mtu=0),
            ),
        ),
        "juniper-junos",
        (
            _in_netbox("xe-0/0/0", _SFP, description="to old-core", mtu=9192),
            _in_netbox("ge-0/0/9", _RJ45, description="removed in 2023"),
        ),
    ),
    DemoDevice(
        SimDevice(
            "iosxr-core-02",
            "iosxr_netconf",
            "netconf",
            (
                _IF(
                    "TenGigE0/0/0/0",
                    description="to junos-core-01",
                    speed_mbps=10_000,
                    mtu=9192,
                    mac=_mac(5, 0),
                ),
                _IF("TenGigE0/0/0/0.100", description="peering vlan 100", mtu=9192),
                _IF("GigabitEthernet0/0/0/1", enabled=False, up=False, mac=_mac(5, 1)),
                _IF(
                    "Bundle-Ether10",
                    description="bond to pe-3",
                    speed_mbps=20_000,
                    mtu=9192,
                    mac=_mac(5, 16),
                ),
                _IF("Loopback0", description="router-id", speed_mbps=0, mtu=1500),
            ),
        ),
        "iosxr_netconf",
        (
            _in_netbox(
                "TenGigE0/0/0/0", _SFP, description="to junos-core-01", mtu=1514, speed=1_000_000
            ),
            _in_netbox("Bundle-Ether99", "lag", description="old bundle"),
        ),
    ),
)
"""The demo's devices: five platforms, each with interfaces NetBox lacks, has wrong, or has
and the device does not (NetBox also gets ``Management1``, the interface holding each device's
primary IP, which no device reports)."""


def start_demo_fleet(
    devices: Sequence[DemoDevice] = DEMO_DEVICES, first_ip: str = FIRST_IP
) -> Fleet:
    """Start the simulated devices, each on its own address, all on one port.

    Args:
        devices: The devices.
        first_ip: Address of the first device; the others follow it.
    """
    return start_fleet([d.device for d in devices], first_ip)


def seed_netbox(
    api: Any, fleet: Fleet, devices: Sequence[DemoDevice] = DEMO_DEVICES, tag: str = DEMO_TAG
) -> dict[str, int]:
    """Create the devices in NetBox, tagged, with their pre-sync interfaces.

    Each device's primary IP is its simulated device's address, so NetBoxInventory2 gives the
    host that address to connect to.

    Args:
        api: A pynetbox API with write permission.
        fleet: The running simulated devices.
        devices: The devices to create.
        tag: Slug of the tag to give them (created if missing).

    Returns:
        Device name -> NetBox id.
    """
    tag_record = api.extras.tags.get(slug=tag) or api.extras.tags.create(name=tag, slug=tag)
    ids: dict[str, int] = {}
    for demo in devices:
        name = demo.device.name
        device_id = create_device(api, name, demo.platform, primary_ip=fleet[name].ip)
        api.dcim.devices.update([{"id": device_id, "tags": [int(tag_record.id)]}])
        create_interfaces(api, device_id, demo.netbox)
        ids[name] = device_id
    return ids


def write_inventory_files(
    directory: Path, fleet: Fleet, devices: Sequence[DemoDevice] = DEMO_DEVICES
) -> None:
    """Write ``defaults.yaml`` (credentials, the fleet's port) and ``groups.yaml`` (NAPALM
    ``optional_args`` per NetBox platform) for the simulated devices.

    Args:
        directory: Where to write them.
        fleet: The running simulated devices.
        devices: The devices, for their platforms.
    """
    first = next(iter(fleet))
    defaults = {"username": first.username, "password": first.password, "port": fleet.port}
    groups: dict[str, Any] = {}
    for demo in devices:
        extras = fleet[demo.device.name].napalm_extras
        if extras:
            options = {"napalm": {"extras": {"optional_args": dict(extras)}}}
            groups[f"platform__{demo.platform}"] = {"connection_options": options}
    _write_yaml(directory / "defaults.yaml", defaults)
    _write_yaml(directory / "groups.yaml", groups)


def write_config(
    directory: Path,
    *,
    nb_url: str | None = None,
    nb_token: str | None = None,
    filter_parameters: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``config.yaml``: ``examples/config.yaml`` with the given values filled in.

    Args:
        directory: Where to write it (its ``defaults.yaml`` and ``groups.yaml`` go beside it).
        nb_url: NetBox URL; None leaves it to the ``NB_URL`` environment variable.
        nb_token: NetBox API token; None leaves it to ``NB_TOKEN``.
        filter_parameters: Device filter replacing the example's.

    Returns:
        Path of the file.
    """
    config = yaml.safe_load((EXAMPLES / "config.yaml").read_text(encoding="utf-8"))
    netbox = {"nb_url": nb_url, "nb_token": nb_token}
    options: dict[str, Any] = {k: v for k, v in netbox.items() if v is not None}
    options.update({k: v for k, v in config["inventory"]["options"].items() if k not in options})
    if filter_parameters is not None:
        options["filter_parameters"] = dict(filter_parameters)
    config["inventory"]["options"] = options
    path = directory / "config.yaml"
    _write_yaml(path, config)
    return path


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def netbox_interfaces(api: Any, device_ids: Mapping[str, int]) -> dict[str, set[str]]:
    """Return the names of each device's interfaces in NetBox.

    Args:
        api: A pynetbox API.
        device_ids: Device name -> NetBox id.
    """
    return {
        name: {i.name for i in api.dcim.interfaces.filter(device_id=device_id)}
        for name, device_id in device_ids.items()
    }
