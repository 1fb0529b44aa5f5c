"""The lab NetBox's base seed, and typed pynetbox helpers that tests use to add to it.

The base seed (:data:`BASE_SEED`) is written once into the lab's template database, so every
lab start already has it: the site ``lab``, the manufacturers, the device role ``router``, one
device type per platform, the NAPALM platforms and the tag ``stale``. The lab hashes it into the
template's name, so editing it here makes the next start build a fresh template.

The helpers create what a single test needs on top of that (devices, interfaces) through the
REST API, exactly as a user of NetBox would.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pynetbox

logger = logging.getLogger(__name__)

SITE_SLUG = "lab"
ROLE_SLUG = "router"
STALE_TAG_SLUG = "stale"

DEFAULT_MGMT_INTERFACE = "Management1"
"""Name of the interface :func:`create_device` creates to hold the primary IP address.

NetBox only accepts an address as a device's primary IP when it is assigned to an interface of
that device, so a device created with a primary IP always has this one extra interface (type
``virtual``, ``mgmt_only``). Sync tests see it in NetBox and should either report it on the
simulated device too or expect the sync to treat it as NetBox-only.
"""

DEFAULT_INTERFACE_TYPE = "other"


@dataclass(frozen=True)
class SeedObject:
    """A named object of the base seed.

    Attributes:
        name: Display name.
        slug: URL-friendly unique name; tests look objects up by it.
    """

    name: str
    slug: str


@dataclass(frozen=True)
class SeedDeviceType:
    """A device type of the base seed.

    Attributes:
        manufacturer: Slug of its manufacturer.
        model: Model name.
        slug: Unique slug.
    """

    manufacturer: str
    model: str
    slug: str


@dataclass(frozen=True)
class SeedPlatform:
    """A platform of the base seed, named after a NAPALM driver.

    Attributes:
        slug: Platform slug (what the Nornir inventory's ``platform`` maps from).
        name: Platform name.
        manufacturer: Slug of its manufacturer.
        device_type: Slug of the device type :func:`create_device` uses for this platform.
    """

    slug: str
    name: str
    manufacturer: str
    device_type: str


@dataclass(frozen=True)
class BaseSeed:
    """Everything the template database holds besides the admin user and its tokens.

    Attributes:
        site: The single site.
        role: The device role all lab devices get.
        manufacturers: Manufacturers of the device types and platforms.
        device_types: One device type per platform family.
        platforms: The NAPALM platforms.
        tags: Tags tests use.
    """

    site: SeedObject
    role: SeedObject
    manufacturers: tuple[SeedObject, ...]
    device_types: tuple[SeedDeviceType, ...]
    platforms: tuple[SeedPlatform, ...]
    tags: tuple[SeedObject, ...]

    def as_document(self) -> dict[str, Any]:
        """Return the seed as plain JSON-serializable data.

        Returns:
            A dict of the dataclass fields, nested objects as dicts and tuples as lists.
        """
        return asdict(self)

    def platform(self, slug: str) -> SeedPlatform:
        """Return the seeded platform with this slug.

        Args:
            slug: Platform slug.

        Returns:
            The platform.

        Raises:
            KeyError: No seeded platform has this slug.
        """
        for platform in self.platforms:
            if platform.slug == slug:
                return platform
        raise KeyError(f"platform {slug!r} is not in the lab's base seed")


BASE_SEED = BaseSeed(
    site=SeedObject(name="lab", slug=SITE_SLUG),
    role=SeedObject(name="Router", slug=ROLE_SLUG),
    manufacturers=(
        SeedObject(name="Cisco", slug="cisco"),
        SeedObject(name="Arista", slug="arista"),
        SeedObject(name="Juniper", slug="juniper"),
        SeedObject(name="Lab", slug="lab"),
    ),
    device_types=(
        SeedDeviceType(manufacturer="cisco", model="Lab IOS Router", slug="lab-ios-router"),
        SeedDeviceType(manufacturer="cisco", model="Lab NX-OS Switch", slug="lab-nxos-switch"),
        SeedDeviceType(manufacturer="cisco", model="Lab IOS-XR Router", slug="lab-iosxr-router"),
        SeedDeviceType(manufacturer="arista", model="Lab EOS Switch", slug="lab-eos-switch"),
        SeedDeviceType(manufacturer="juniper", model="Lab Junos Router", slug="lab-junos-router"),
        SeedDeviceType(manufacturer="lab", model="Lab Mock Device", slug="lab-mock-device"),
    ),
    platforms=(
        SeedPlatform("cisco-ios", "Cisco IOS", "cisco", "lab-ios-router"),
        SeedPlatform("arista-eos", "Arista EOS", "arista", "lab-eos-switch"),
        SeedPlatform("cisco-nxos", "Cisco NX-OS", "cisco", "lab-nxos-switch"),
        SeedPlatform("nxos_ssh", "nxos_ssh", "cisco", "lab-nxos-switch"),
        SeedPlatform("cisco-iosxr", "Cisco IOS-XR", "cisco", "lab-iosxr-router"),
        SeedPlatform("iosxr_netconf", "iosxr_netconf", "cisco", "lab-iosxr-router"),
        SeedPlatform("juniper-junos", "Juniper Junos", "juniper", "lab-junos-router"),
        SeedPlatform("mock", "mock", "lab", "lab-mock-device"),
    ),
    tags=(SeedObject(name="stale", slug=STALE_TAG_SLUG),),
)


def _id_by_slug(endpoint: Any, slug: str) -> int:
    """Return the id of the object with this slug on a pynetbox endpoint.

    Args:
        endpoint: A pynetbox endpoint such as ``api.dcim.sites``.
        slug: The slug to look up.

    Returns:
        The object's id.

    Raises:
        LookupError: No such object.
    """
    record = endpoint.get(slug=slug)
    if record is None:
        raise LookupError(f"no object with slug {slug!r} at {endpoint.url}")
    return int(record.id)


def create_device(
    api: pynetbox.api,
    name: str,
    platform_slug: str,
    primary_ip: str | None = None,
    *,
    mgmt_interface: str = DEFAULT_MGMT_INTERFACE,
) -> int:
    """Create a device of the base seed's site and role, with an optional primary IP.

    The device type is the one the base seed pairs with the platform. With ``primary_ip``,
    the device also gets the interface ``mgmt_interface`` (type ``virtual``, management only)
    holding the address as a host route (/32, or /128 for IPv6), which becomes the device's
    primary IPv4 or IPv6 address: NetBox refuses a primary IP that is not assigned to one of
    the device's interfaces.

    Args:
        api: A pynetbox API with write permission.
        name: Device name.
        platform_slug: Slug of one of the seeded platforms.
        primary_ip: Address without prefix length (e.g. ``"127.0.0.1"``), or None.
        mgmt_interface: Name of the interface holding the primary IP.

    Returns:
        The new device's id.
    """
    platform = BASE_SEED.platform(platform_slug)
    device = api.dcim.devices.create(
        name=name,
        site=_id_by_slug(api.dcim.sites, SITE_SLUG),
        role=_id_by_slug(api.dcim.device_roles, ROLE_SLUG),
        device_type=_id_by_slug(api.dcim.device_types, platform.device_type),
        platform=_id_by_slug(api.dcim.platforms, platform_slug),
        status="active",
    )
    device_id = int(device.id)
    if primary_ip is not None:
        _assign_primary_ip(api, device_id, primary_ip, mgmt_interface)
    logger.debug("created device %s (id %d, platform %s)", name, device_id, platform_slug)
    return device_id


def create_devices(
    api: pynetbox.api, names: Iterable[str], platform_slug: str = "mock"
) -> dict[str, int]:
    """Create devices of the base seed's site and role in one bulk request.

    Args:
        api: A pynetbox API with write permission.
        names: Device names.
        platform_slug: Slug of one of the seeded platforms (the device type goes with it).

    Returns:
        Device name -> NetBox id, in the order given.
    """
    platform = BASE_SEED.platform(platform_slug)
    common = {
        "site": _id_by_slug(api.dcim.sites, SITE_SLUG),
        "role": _id_by_slug(api.dcim.device_roles, ROLE_SLUG),
        "device_type": _id_by_slug(api.dcim.device_types, platform.device_type),
        "platform": _id_by_slug(api.dcim.platforms, platform_slug),
        "status": "active",
    }
    payload = [{"name": name, **common} for name in names]
    if not payload:
        return {}
    created = api.dcim.devices.create(payload)
    return {str(record.name): int(record.id) for record in created}


def _assign_primary_ip(api: pynetbox.api, device_id: int, address: str, interface: str) -> None:
    """Create ``interface`` on the device, give it ``address`` and make that the primary IP.

    Args:
        api: A pynetbox API with write permission.
        device_id: The device.
        address: Address without prefix length.
        interface: Name of the management interface to create.
    """
    ip = ipaddress.ip_address(address)
    iface = api.dcim.interfaces.create(
        device=device_id, name=interface, type="virtual", mgmt_only=True
    )
    record = api.ipam.ip_addresses.create(
        address=f"{ip}/{ip.max_prefixlen}",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=int(iface.id),
    )
    field = "primary_ip4" if ip.version == 4 else "primary_ip6"
    api.dcim.devices.update([{"id": device_id, field: int(record.id)}])


def create_interfaces(
    api: pynetbox.api, device_id: int, interfaces: Iterable[Mapping[str, Any]]
) -> list[int]:
    """Create interfaces on a device in one bulk request.

    Each mapping holds interface fields as the REST API takes them (``name`` is required;
    ``type`` defaults to ``"other"``; e.g. ``enabled``, ``mtu``, ``description``,
    ``mac_address``).

    Args:
        api: A pynetbox API with write permission.
        device_id: The device.
        interfaces: The interfaces to create.

    Returns:
        The new interfaces' ids, in the order given.
    """
    payload = [
        {"type": DEFAULT_INTERFACE_TYPE, **dict(fields), "device": device_id}
        for fields in interfaces
    ]
    if not payload:
        return []
    created = api.dcim.interfaces.create(payload)
    return [int(record.id) for record in created]


def delete_device(api: pynetbox.api, device_id: int) -> None:
    """Delete a device; NetBox deletes its interfaces, their MAC and IP addresses with it.

    A device that no longer exists is ignored.

    Args:
        api: A pynetbox API with write permission.
        device_id: The device.
    """
    device = api.dcim.devices.get(device_id)
    if device is not None:
        device.delete()
        logger.debug("deleted device %d", device_id)
