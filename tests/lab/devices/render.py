"""Pure renderers: a :class:`SimDevice` as each platform prints it.

Each function takes the neutral model and returns what the real platform would answer to the
command NAPALM's driver sends for ``get_interfaces``: CLI text for the SSH drivers, JSON
bodies for eAPI / NX-API. The output imitates the real platform, including where the platform
cannot express a model value exactly:

* IOS and NX-OS always print a bandwidth. A model speed of 0 on a loopback or VLAN interface
  is printed as that platform's default bandwidth (loopback 8 Gbit/s, VLAN 1 Gbit/s); on other
  interfaces it is printed as ``BW 0 Kbit``.
* IOS and NX-OS loopbacks print no hardware address, whatever the model says.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any

from tests.lab.devices.model import SimDevice, SimInterface

JsonObject = dict[str, Any]

EOS_VERSION = "4.30.1F"
"""EOS release the simulated Arista devices report (NAPALM needs at least 4.23)."""

LOOPBACK_DEFAULT_BW_KBIT = 8_000_000
VLAN_DEFAULT_BW_KBIT = 1_000_000


class InterfaceKind(enum.Enum):
    """What sort of interface a name denotes; decides the hardware lines a platform prints."""

    PHYSICAL = "physical"
    SUBINTERFACE = "subinterface"
    LAG = "lag"
    LOOPBACK = "loopback"
    VLAN = "vlan"
    MANAGEMENT = "management"


_KIND_PATTERNS: tuple[tuple[InterfaceKind, re.Pattern[str]], ...] = (
    (InterfaceKind.LOOPBACK, re.compile(r"^(loopback|lo\d)", re.IGNORECASE)),
    (InterfaceKind.VLAN, re.compile(r"^(vlan|irb|bvi)", re.IGNORECASE)),
    (InterfaceKind.SUBINTERFACE, re.compile(r"\.\d+$")),
    (InterfaceKind.LAG, re.compile(r"^(port-channel|bundle-ether|ae\d)", re.IGNORECASE)),
    (InterfaceKind.MANAGEMENT, re.compile(r"^(mgmt|management|fxp|em\d)", re.IGNORECASE)),
)


def interface_kind(name: str) -> InterfaceKind:
    """Classify an interface by its name.

    Args:
        name: Interface name in any vendor's spelling.

    Returns:
        The kind of interface the name denotes; ``PHYSICAL`` when nothing else matches.
    """
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(name):
            return kind
    return InterfaceKind.PHYSICAL


def cisco_mac(mac: str) -> str:
    """Convert ``AA:BB:CC:DD:EE:FF`` to Cisco's dotted ``aabb.ccdd.eeff``.

    Args:
        mac: Colon-separated MAC address.

    Returns:
        The address in Cisco notation.
    """
    digits = mac.replace(":", "").lower()
    return ".".join(digits[i : i + 4] for i in range(0, 12, 4))


def eos_mac(mac: str) -> str:
    """Convert a MAC address to EOS's lower-case colon notation.

    Args:
        mac: Colon-separated MAC address.

    Returns:
        The address as EOS prints it.
    """
    return mac.lower()


def cisco_bandwidth_kbit(interface: SimInterface) -> int:
    """Bandwidth an IOS / NX-OS device prints for an interface, in Kbit/s.

    Args:
        interface: The modelled interface.

    Returns:
        The model speed in Kbit/s, or the platform default for loopback and VLAN interfaces
        whose model speed is 0.
    """
    if interface.speed_mbps:
        return interface.speed_mbps * 1000
    defaults = {
        InterfaceKind.LOOPBACK: LOOPBACK_DEFAULT_BW_KBIT,
        InterfaceKind.VLAN: VLAN_DEFAULT_BW_KBIT,
    }
    return defaults.get(interface_kind(interface.name), 0)


def _join(lines: list[str]) -> str:
    """Join CLI lines, ending with a newline."""
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------- IOS


_IOS_HARDWARE_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("hundredgig", "Hundred Gigabit Ethernet"),
    ("fortygig", "Forty Gigabit Ethernet"),
    ("twentyfivegig", "Twenty Five Gigabit Ethernet"),
    ("tengig", "Ten Gigabit Ethernet"),
    ("gigabit", "Gigabit Ethernet"),
    ("fastethernet", "Fast Ethernet"),
)


def _ios_hardware(interface: SimInterface) -> str:
    """The ``Hardware is ...`` text IOS prints for an interface."""
    kind = interface_kind(interface.name)
    if kind is InterfaceKind.LAG:
        return "EtherChannel"
    if kind is InterfaceKind.VLAN:
        return "Ethernet SVI"
    lowered = interface.name.lower()
    for prefix, hardware in _IOS_HARDWARE_BY_PREFIX:
        if lowered.startswith(prefix):
            return hardware
    return "Ethernet"


def _ios_status_line(interface: SimInterface) -> str:
    """First line of an IOS ``show interfaces`` section."""
    status = "up" if interface.up else "down"
    if not interface.enabled:
        status = "administratively down"
    protocol = "up" if interface.enabled and interface.up else "down"
    suffix = "" if protocol == "up" else " (notconnect)"
    return f"{interface.name} is {status}, line protocol is {protocol}{suffix} "


def _ios_hardware_line(interface: SimInterface) -> str:
    """The ``Hardware is`` line, with the MAC address where the interface has one."""
    if interface_kind(interface.name) is InterfaceKind.LOOPBACK:
        return "  Hardware is Loopback"
    hardware = _ios_hardware(interface)
    if not interface.mac:
        return f"  Hardware is {hardware}"
    mac = cisco_mac(interface.mac)
    return f"  Hardware is {hardware}, address is {mac} (bia {mac})"


def _ios_encapsulation_line(interface: SimInterface) -> str:
    """The ``Encapsulation`` line (802.1Q for subinterfaces)."""
    if interface_kind(interface.name) is InterfaceKind.SUBINTERFACE:
        vlan = interface.name.rsplit(".", 1)[1]
        return f"  Encapsulation 802.1Q Virtual LAN, Vlan ID  {vlan}."
    return "  Encapsulation ARPA, loopback not set"


def ios_interface_section(interface: SimInterface) -> str:
    """One interface's section of IOS ``show interfaces``.

    Args:
        interface: The modelled interface.

    Returns:
        The section text, newline-terminated.
    """
    delay = 5000 if interface_kind(interface.name) is InterfaceKind.LOOPBACK else 10
    lines = [_ios_status_line(interface), _ios_hardware_line(interface)]
    if interface.description:
        lines.append(f"  Description: {interface.description}")
    lines += [
        f"  MTU {interface.mtu} bytes, BW {cisco_bandwidth_kbit(interface)} Kbit/sec, "
        f"DLY {delay} usec, ",
        "     reliability 255/255, txload 1/255, rxload 1/255",
        _ios_encapsulation_line(interface),
        "  Keepalive set (10 sec)",
        "  Last input never, output never, output hang never",
        '  Last clearing of "show interface" counters never',
        "  5 minute input rate 0 bits/sec, 0 packets/sec",
        "  5 minute output rate 0 bits/sec, 0 packets/sec",
        "     0 packets input, 0 bytes, 0 no buffer",
        "     0 packets output, 0 bytes, 0 underruns",
    ]
    return _join(lines)


def ios_show_interfaces(device: SimDevice) -> str:
    """IOS ``show interfaces``.

    Args:
        device: The simulated device.

    Returns:
        The command output.
    """
    return "".join(ios_interface_section(i) for i in device.interfaces)


# ------------------------------------------------------------------------------ NX-OS (CLI)


_NXOS_ETHERNET_HARDWARE = "100/1000/10000/25000 Ethernet"


def _nxos_down_reason(interface: SimInterface) -> str:
    """Reason NX-OS prints in parentheses after ``is down``."""
    if not interface.enabled:
        return "Administratively down"
    if interface_kind(interface.name) is InterfaceKind.VLAN:
        return "VLAN/BD is down"
    return "Link not connected"


def _nxos_state(interface: SimInterface) -> str:
    """``up`` or ``down (reason)`` as NX-OS prints an interface state."""
    if interface.enabled and interface.up:
        return "up"
    return f"down ({_nxos_down_reason(interface)})"


def _nxos_cli_hardware(interface: SimInterface) -> str:
    """Hardware name NX-OS prints for a non-VLAN interface."""
    kind = interface_kind(interface.name)
    if kind is InterfaceKind.LOOPBACK:
        return "Loopback"
    if kind is InterfaceKind.LAG:
        return "Port-Channel"
    if kind is InterfaceKind.MANAGEMENT:
        return "GigabitEthernet"
    return _NXOS_ETHERNET_HARDWARE


def _nxos_svi_head(interface: SimInterface) -> list[str]:
    """Header lines of a VLAN interface section (``line protocol`` style)."""
    protocol = "up" if interface.enabled and interface.up else "down"
    head = f"{interface.name} is {_nxos_state(interface)}, line protocol is {protocol}"
    hardware = "  Hardware is EtherSVI"
    if interface.mac:
        hardware += f", address is  {cisco_mac(interface.mac)}"
    return [f"{head}, autostate enabled", hardware]


def _nxos_port_head(interface: SimInterface) -> list[str]:
    """Header lines of a port section (``admin state is`` style)."""
    kind = interface_kind(interface.name)
    admin = "up" if interface.enabled else "down"
    share = ", Dedicated Interface" if kind is InterfaceKind.PHYSICAL else ","
    hardware = f"  Hardware: {_nxos_cli_hardware(interface)}"
    if interface.mac and kind is not InterfaceKind.LOOPBACK:
        mac = cisco_mac(interface.mac)
        hardware += f", address: {mac} (bia {mac})"
    return [
        f"{interface.name} is {_nxos_state(interface)}",
        f"admin state is {admin}{share}",
        hardware,
    ]


def nxos_interface_section(interface: SimInterface) -> str:
    """One interface's section of NX-OS ``show interface``.

    Args:
        interface: The modelled interface.

    Returns:
        The section text, newline-terminated, followed by a blank line.
    """
    kind = interface_kind(interface.name)
    is_svi = kind is InterfaceKind.VLAN
    lines = _nxos_svi_head(interface) if is_svi else _nxos_port_head(interface)
    if interface.description:
        lines.append(f"  Description: {interface.description}")
    delay = 5000 if kind is InterfaceKind.LOOPBACK else 10
    trailer = "," if is_svi else ""
    lines += [
        f"  MTU {interface.mtu} bytes, BW {cisco_bandwidth_kbit(interface)} Kbit, "
        f"DLY {delay} usec{trailer}",
        "  reliability 255/255, txload 1/255, rxload 1/255",
    ]
    if kind is InterfaceKind.SUBINTERFACE:
        vlan = interface.name.rsplit(".", 1)[1]
        lines.append(f"  Encapsulation 802.1Q Virtual LAN, Vlan ID {vlan}, medium is broadcast")
    elif not is_svi:
        lines.append("  Encapsulation ARPA, medium is broadcast")
    lines += ['  Last clearing of "show interface" counters never', ""]
    return _join(lines)


def nxos_show_interface_text(device: SimDevice) -> str:
    """NX-OS ``show interface`` as CLI text.

    Args:
        device: The simulated device.

    Returns:
        The command output.
    """
    return "".join(nxos_interface_section(i) for i in device.interfaces)


# ----------------------------------------------------------------------------- NX-OS (JSON)


def _nxos_updown(flag: bool) -> str:
    """``up`` or ``down``."""
    return "up" if flag else "down"


def _nxos_svi_row(interface: SimInterface) -> JsonObject:
    """NX-API row of a VLAN interface (``svi_*`` keys)."""
    row: JsonObject = {
        "interface": interface.name,
        "svi_admin_state": _nxos_updown(interface.enabled),
        "svi_line_proto": _nxos_updown(interface.enabled and interface.up),
    }
    if not (interface.enabled and interface.up):
        row["svi_rsn_desc"] = _nxos_down_reason(interface)
    if interface.mac:
        row["svi_mac"] = cisco_mac(interface.mac)
    if interface.description:
        row["svi_desc"] = interface.description
    row.update(
        svi_mtu=str(interface.mtu),
        svi_bw=str(cisco_bandwidth_kbit(interface)),
        svi_delay="10",
    )
    return row


def _nxos_port_row(interface: SimInterface) -> JsonObject:
    """NX-API row of a port (``eth_*`` keys)."""
    kind = interface_kind(interface.name)
    row: JsonObject = {
        "interface": interface.name,
        "state": _nxos_updown(interface.enabled and interface.up),
        "admin_state": _nxos_updown(interface.enabled),
    }
    if not (interface.enabled and interface.up):
        row["state_rsn_desc"] = _nxos_down_reason(interface)
    row["eth_hw_desc"] = _nxos_cli_hardware(interface)
    if interface.mac and kind is not InterfaceKind.LOOPBACK:
        row["eth_hw_addr"] = row["eth_bia_addr"] = cisco_mac(interface.mac)
    if interface.description:
        row["desc"] = interface.description
    row.update(
        eth_mtu=str(interface.mtu),
        eth_bw=cisco_bandwidth_kbit(interface),
        eth_dly=5000 if kind is InterfaceKind.LOOPBACK else 10,
        medium="broadcast",
    )
    if kind is InterfaceKind.SUBINTERFACE:
        row["eth_encap_vlan"] = int(interface.name.rsplit(".", 1)[1])
    return row


def nxos_show_interface_json(device: SimDevice) -> JsonObject:
    """NX-API body of ``show interface``.

    Args:
        device: The simulated device.

    Returns:
        The ``TABLE_interface`` / ``ROW_interface`` structure.
    """
    rows = [
        _nxos_svi_row(i) if interface_kind(i.name) is InterfaceKind.VLAN else _nxos_port_row(i)
        for i in device.interfaces
    ]
    return {"TABLE_interface": {"ROW_interface": rows}}


def nxos_show_hostname_json(device: SimDevice) -> JsonObject:
    """NX-API body of ``show hostname``.

    Args:
        device: The simulated device.

    Returns:
        The body.
    """
    return {"hostname": device.name}


# --------------------------------------------------------------------------------------- EOS


_EOS_HARDWARE = {
    InterfaceKind.PHYSICAL: "ethernet",
    InterfaceKind.MANAGEMENT: "ethernet",
    InterfaceKind.SUBINTERFACE: "subinterface",
    InterfaceKind.LAG: "portChannel",
    InterfaceKind.LOOPBACK: "loopback",
    InterfaceKind.VLAN: "vlan",
}


def _eos_status(interface: SimInterface) -> tuple[str, str]:
    """``(lineProtocolStatus, interfaceStatus)`` of an EOS interface."""
    if not interface.enabled:
        return "down", "disabled"
    if interface.up:
        return "up", "connected"
    if interface_kind(interface.name) is InterfaceKind.VLAN:
        return "lowerLayerDown", "notconnect"
    return "down", "notconnect"


def eos_interface_json(interface: SimInterface) -> JsonObject:
    """One entry of EOS ``show interfaces | json``.

    Args:
        interface: The modelled interface.

    Returns:
        The interface's JSON object.
    """
    kind = interface_kind(interface.name)
    protocol, status = _eos_status(interface)
    entry: JsonObject = {
        "name": interface.name,
        "forwardingModel": "routed" if kind is not InterfaceKind.PHYSICAL else "bridged",
        "lineProtocolStatus": protocol,
        "interfaceStatus": status,
        "hardware": _EOS_HARDWARE[kind],
        "interfaceAddress": [],
    }
    if interface.mac:
        entry["physicalAddress"] = entry["burnedInAddress"] = eos_mac(interface.mac)
    entry.update(
        description=interface.description,
        bandwidth=interface.speed_mbps * 1_000_000,
        mtu=interface.mtu,
        l3MtuConfigured=False,
        l2Mru=0,
    )
    if kind in (InterfaceKind.PHYSICAL, InterfaceKind.MANAGEMENT):
        entry.update(duplex="duplexFull", autoNegotiate="unknown", loopbackMode="loopbackNone")
    return entry


def eos_show_interfaces_json(device: SimDevice) -> JsonObject:
    """EOS ``show interfaces`` in JSON form (eAPI result or ``| json`` text).

    Args:
        device: The simulated device.

    Returns:
        The ``{"interfaces": {...}}`` object.
    """
    return {"interfaces": {i.name: eos_interface_json(i) for i in device.interfaces}}


def eos_show_version_json(device: SimDevice) -> JsonObject:
    """EOS ``show version`` in JSON form.

    Args:
        device: The simulated device.

    Returns:
        The version object; ``version`` is :data:`EOS_VERSION`.
    """
    return {
        "mfgName": "Arista",
        "modelName": "vEOS-lab",
        "hardwareRevision": "",
        "serialNumber": f"SN-{device.name}",
        "systemMacAddress": "52:54:00:00:00:01",
        "hwMacAddress": "00:00:00:00:00:00",
        "configMacAddress": "00:00:00:00:00:00",
        "version": EOS_VERSION,
        "architecture": "x86_64",
        "internalVersion": f"{EOS_VERSION}-0.0",
        "internalBuildId": "00000000-0000-0000-0000-000000000000",
        "imageFormatVersion": "1.0",
        "imageOptimization": "None",
        "bootupTimestamp": 1_700_000_000.0,
        "uptime": 86_400.0,
        "memTotal": 4_000_000,
        "memFree": 2_000_000,
        "isIntlVersion": False,
    }


def eos_json_text(body: JsonObject) -> str:
    """The text EOS prints for ``<command> | json``.

    Args:
        body: The command's JSON object.

    Returns:
        Indented JSON text.
    """
    return json.dumps(body, indent=2, ensure_ascii=False)
