"""NetBox platform -> NAPALM driver, as a Nornir inventory transform function.

NetBox 4 has no NAPALM driver field, and NetBoxInventory2 gives each host its platform's name
(or slug). NAPALM needs its driver name. Name the transform in ``config.yaml``::

    inventory:
      plugin: NetBoxInventory2
      transform_function: netbox_napalm_platform
      transform_function_options:
        platforms:            # optional, added to the built-in table
          my-edge-os: eos

An explicit ``connection_options.napalm.platform`` on the host, a group or the defaults
always wins.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

from nornir.core.inventory import ConnectionOptions, Host

from nornir_nb_ifsync.exceptions import UnknownPlatformError

#: The connection the sync uses.
CONNECTION_NAME = "napalm"


def platform_key(platform: str) -> str:
    """Return how a NetBox platform is looked up: lower case, with runs of blanks, ``_`` and
    ``-`` as one ``-`` (``Cisco IOS_XE`` -> ``cisco-ios-xe``)."""
    return re.sub(r"[\s_-]+", "-", platform.strip().lower())


_NAMES_BY_DRIVER: Mapping[str, tuple[str, ...]] = {
    "ios": ("ios", "cisco-ios", "ios-xe", "iosxe", "cisco-ios-xe", "cisco-iosxe", "cisco-xe"),
    "eos": ("eos", "arista-eos"),
    "nxos": ("nxos", "nx-os", "cisco-nxos", "cisco-nx-os"),
    "nxos_ssh": ("nxos-ssh", "cisco-nxos-ssh"),
    "iosxr": ("iosxr", "ios-xr", "cisco-iosxr", "cisco-ios-xr", "cisco-xr"),
    "iosxr_netconf": ("iosxr-netconf", "cisco-iosxr-netconf"),
    "junos": ("junos", "juniper-junos", "juniper"),
    "mock": ("mock",),
}

#: NetBox platform names and slugs, as :func:`platform_key` gives them -> NAPALM driver.
PLATFORM_DRIVERS: Mapping[str, str] = {
    name: driver for driver, names in _NAMES_BY_DRIVER.items() for name in names
}

#: The NAPALM drivers the sync is tested with.
SUPPORTED_DRIVERS = frozenset(PLATFORM_DRIVERS.values())


def napalm_driver(platform: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """Return the NAPALM driver for a NetBox platform name or slug, or None when unknown.

    Args:
        platform: The host's platform as NetBoxInventory2 gives it.
        extra: More platform -> driver pairs; they win over the built-in table.
    """
    if not platform:
        return None
    table = {**PLATFORM_DRIVERS, **{platform_key(k): v for k, v in (extra or {}).items()}}
    return table.get(platform_key(platform))


def explicit_napalm_platform(host: Host) -> str | None:
    """Return the napalm platform set in connection options (host, groups or defaults)."""
    platform = host.get_connection_parameters(CONNECTION_NAME).platform
    return platform if platform != host.platform else None


def netbox_napalm_platform(host: Host, platforms: Mapping[str, str] | None = None) -> None:
    """Nornir transform function: give each host the NAPALM driver of its NetBox platform.

    Sets ``connection_options["napalm"].platform``; ``host.platform`` itself is left as
    NetBox has it. A host whose platform is unknown gets no driver: the sync task then fails
    it with a message saying how to map it. Each host also gets its own copy of the NAPALM
    ``extras`` (from its groups or the defaults): nornir-napalm writes the host's port into
    ``optional_args``, and a shared dict would hand one host's port to the next.

    Args:
        host: The Nornir host.
        platforms: More NetBox platform (name or slug) -> NAPALM driver pairs.
    """
    params = host.get_connection_parameters(CONNECTION_NAME)
    options = host.connection_options.get(CONNECTION_NAME)
    if options is None:
        options = host.connection_options[CONNECTION_NAME] = ConnectionOptions()
    options.extras = copy.deepcopy(params.extras)
    if explicit_napalm_platform(host) is None:
        options.platform = napalm_driver(host.platform, platforms)


def check_driver(host: Host) -> str:
    """Return the NAPALM driver the host will use.

    Raises:
        UnknownPlatformError: No NAPALM driver is known for the host's platform.
    """
    driver = host.get_connection_parameters(CONNECTION_NAME).platform
    if driver in SUPPORTED_DRIVERS:
        return str(driver)
    if driver and _loadable(driver):
        return driver
    raise UnknownPlatformError(
        f"platform {driver!r} is not a NAPALM driver. Map it in config.yaml "
        "(inventory.transform_function: netbox_napalm_platform, with "
        f"transform_function_options.platforms: {{{driver!r}: <driver>}}) or set "
        "connection_options.napalm.platform for the host",
        device=host.name,
    )


def rules_driver(host: Host, driver: str) -> str:
    """Return the driver whose platform rules apply to what the host reports.

    That is ``driver``, except for NAPALM's ``mock`` driver, which replays another
    platform's replies: then the driver the host's own platform maps to, if any.
    """
    if driver == "mock":
        return napalm_driver(host.platform) or driver
    return driver


def _loadable(driver: str) -> bool:
    """True when NAPALM can load a (community) driver of this name."""
    from napalm import get_network_driver  # noqa: PLC0415 - napalm is slow to import
    from napalm.base.exceptions import ModuleImportError  # noqa: PLC0415

    try:
        get_network_driver(driver)
    except ModuleImportError:
        return False
    return True
