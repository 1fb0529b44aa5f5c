"""The neutral description of a simulated device's interfaces.

A test states once what a device has; each platform's renderer turns it into that platform's
own output (CLI text, eAPI/NX-API JSON, NETCONF XML), and NAPALM's real driver parses it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimInterface:
    """One interface as the device would report it.

    Attributes:
        name: The interface name in the platform's own spelling.
        enabled: Administratively up.
        up: Operationally up.
        description: The configured description ("" for none).
        speed_mbps: Speed in Mbit/s as NAPALM reports it (0 when unknown / not connected).
        mtu: MTU in bytes.
        mac: MAC address as "AA:BB:CC:DD:EE:FF", or "" for an interface without one.
    """

    name: str
    enabled: bool = True
    up: bool = True
    description: str = ""
    speed_mbps: int = 1000
    mtu: int = 1500
    mac: str = ""


@dataclass(frozen=True)
class SimDevice:
    """A simulated device: its platform, where it listens, and its interfaces.

    Attributes:
        name: Host name (also the NetBox device name in the lab).
        platform: NAPALM driver name: ios, nxos_ssh, eos, nxos, junos, iosxr_netconf.
        transport: "ssh" (CLI over SSH), "https" (eAPI / NX-API) or "netconf".
        interfaces: What the device reports.
    """

    name: str
    platform: str
    transport: str
    interfaces: tuple[SimInterface, ...] = field(default_factory=tuple)
