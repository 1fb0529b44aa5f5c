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
from collections.abc import Mapping

from nornir.core.inventory import ConnectionOptions, Host

from nornir_nb_ifsync.exceptions import UnknownPlatformError

#: The connection the sync uses.
CONNECTION_NAME = "napalm"

#: NetBox platform names and slugs (lower case) -> NAPALM driver.
PLATFORM_DRIVERS: Mapping[str, str] = {
    **{
        name: "ios"
        for name in (
            "ios",
            "cisco-ios",
            "cisco ios",
            "cisco_ios",
            "ios-xe",
            "iosxe",
            "cisco-ios-xe",
            "cisco ios-xe",
            "cisco ios xe",
        )
    },
    **{name: "eos" for name in ("eos", "arista-eos", "arista eos", "arista_eos")},
    **{
        name: "nxos"
        for name in ("nxos", "nx-os", "cisco-nxos", "cisco nx-os", "cisco_nxos", "cisco-nx-os")
    },
    "nxos_ssh": "nxos_ssh",
    **{
        name: "iosxr"
        for name in (
            "iosxr",
            "ios-xr",
            "cisco-iosxr",
            "cisco-ios-xr",
            "cisco ios-xr",
            "cisco ios xr",
            "cisco_iosxr",
        )
    },
    "iosxr_netconf": "iosxr_netconf",
    **{name: "junos" for name in ("junos", "juniper-junos", "juniper junos", "juniper_junos")},
    "mock": "mock",
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
    key = platform.strip().lower()
    table = {**PLATFORM_DRIVERS, **{k.strip().lower(): v for k, v in (extra or {}).items()}}
    return table.get(key)


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


def _loadable(driver: str) -> bool:
    """True when NAPALM can load a (community) driver of this name."""
    from napalm import get_network_driver  # noqa: PLC0415 - napalm is slow to import
    from napalm.base.exceptions import ModuleImportError  # noqa: PLC0415

    try:
        get_network_driver(driver)
    except ModuleImportError:
        return False
    return True
