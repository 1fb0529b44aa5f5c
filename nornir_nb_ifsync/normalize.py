"""NAPALM's ``get_interfaces`` reply -> :class:`DeviceInterface`, in NetBox's units.

NAPALM reports speed in Mbit/s as a float and uses sentinels for "unknown" (speed -1 or 0,
MTU 0, MAC ``"None"`` or ``"Unspecified"``). NetBox wants kbit/s as an integer and null for
unknown. The rules are small pure functions, one per field, so each can be read and tested alone.
"""

from __future__ import annotations

import logging
import math
import re
import reprlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from re import Pattern
from typing import Any

import netaddr

from nornir_nb_ifsync.exceptions import GetterOutputError
from nornir_nb_ifsync.models import DeviceInterface, Kind, Skipped
from nornir_nb_ifsync.names import (
    NOT_INCLUDED,
    guess_type,
    interface_kind,
    parent_name,
    skip_reason,
)

logger = logging.getLogger(__name__)

#: NetBox's longest interface name.
NAME_MAX_LENGTH = 64
#: NetBox's longest description.
DESCRIPTION_MAX_LENGTH = 200
#: The MTU range NetBox accepts.
MTU_MIN, MTU_MAX = 1, 65536
#: Fastest plausible physical port, kbit/s (1.6 Tbit/s).
PHYSICAL_SPEED_MAX = 1_600_000_000
#: Fastest plausible LAG, kbit/s (100 Tbit/s).
LAG_SPEED_MAX = 100_000_000_000

#: Line breaks, tabs and other control characters that separate words in a description.
_CONTROL_BLANKS_RE = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85]+")

_MAC_SENTINELS = frozenset({"", "none", "unspecified", "unknown", "n/a", "null"})

#: The keys of one interface in NAPALM's documented ``get_interfaces`` shape, and their types.
_GETTER_FIELDS: dict[str, tuple[type, ...]] = {
    "is_enabled": (bool,),
    "description": (str,),
    "speed": (int, float),
    "mtu": (int, float),
    "mac_address": (str,),
}


class UnusableValueError(ValueError):
    """A value that is not unknown but cannot be written (e.g. an implausible speed)."""


@dataclass(frozen=True)
class Normalized:
    """The outcome of normalising one device's reply.

    Attributes:
        interfaces: Interfaces to sync, in the device's order.
        skipped: Interfaces and values left out, each with its reason.
    """

    interfaces: tuple[DeviceInterface, ...]
    skipped: tuple[Skipped, ...]


def speed_kbps(mbps: float | int, kind: Kind) -> int | None:
    """Convert NAPALM's speed (Mbit/s) to NetBox's (kbit/s, rounded to nearest).

    Args:
        mbps: The speed NAPALM reported.
        kind: The interface's kind; only physical ports and LAGs have a speed.

    Returns:
        kbit/s, or None when the speed is unknown (<= 0, below 1 kbit/s, not finite) or not
        a port speed (a virtual interface's number is configured bandwidth).

    Raises:
        UnusableValueError: The speed is implausible for the kind of interface.
    """
    if kind is Kind.VIRTUAL or not _finite(mbps) or mbps <= 0:
        return None
    limit = LAG_SPEED_MAX if kind is Kind.LAG else PHYSICAL_SPEED_MAX
    if mbps > limit / 1000:
        raise UnusableValueError(
            f"speed {_number(mbps)} Mbit/s is implausible for a {kind} interface"
        )
    kbps = round(mbps * 1000)
    return kbps if kbps >= 1 else None


def mtu_bytes(value: float | int) -> int | None:
    """Return the MTU when NetBox can hold it; 0 and negative numbers mean unknown.

    Raises:
        UnusableValueError: The MTU is above NetBox's 65536, or not a whole number.
    """
    if not _finite(value) or value <= 0:
        return None
    if value > MTU_MAX:
        raise UnusableValueError(f"MTU {_number(value)} is outside {MTU_MIN}..{MTU_MAX}")
    if value != int(value):
        raise UnusableValueError(f"MTU {_number(value)} is not a whole number of bytes")
    return int(value)


def _finite(value: float | int) -> bool:
    """True for a finite number; an int is finite however large (no float conversion)."""
    return isinstance(value, int) or math.isfinite(value)


def _number(value: float | int) -> str:
    """Show a number in a message as reported (a whole float without ``.0``); an int too
    large to read is shown by its size."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"{'-' if value < 0 else ''}<{value.bit_length()}-bit integer>"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def mac_address(value: str) -> str | None:
    """Parse a MAC address in any common notation into ``AA:BB:CC:DD:EE:FF``.

    Returns:
        The address, or None for NAPALM's sentinels and the all-zero address.

    Raises:
        UnusableValueError: The text is not a 48-bit MAC address.
    """
    text = value.strip()
    if text.lower() in _MAC_SENTINELS:
        return None
    try:
        eui = netaddr.EUI(text, version=48)
    except (netaddr.AddrFormatError, TypeError, ValueError) as exc:
        raise UnusableValueError(f"MAC address {reprlib.repr(value)} cannot be parsed") from exc
    if int(eui) == 0:
        return None
    eui.dialect = netaddr.mac_unix_expanded
    return str(eui).upper()


def description(value: str) -> str:
    """Clean a description the way NetBox stores it.

    Turns line breaks and tabs into one space, removes the other control characters (NetBox
    refuses NUL) and unpaired surrogates, strips, cuts to NetBox's 200 characters and strips
    again. Everything else, unicode included, is kept.
    """
    return _clean(value)[:DESCRIPTION_MAX_LENGTH].strip()


def _clean(value: str) -> str:
    """A description with blanks for line breaks and tabs, no other control character."""
    spaced = _CONTROL_BLANKS_RE.sub(" ", value)
    return "".join(ch for ch in spaced if unicodedata.category(ch) not in ("Cc", "Cs")).strip()


def name_problem(name: str) -> str | None:
    """Return why NetBox cannot hold this interface name, or None when it can."""
    if not name.strip():
        return "empty name"
    if name != name.strip():
        return "name has leading or trailing blanks"
    if len(name) > NAME_MAX_LENGTH:
        return f"name longer than NetBox's {NAME_MAX_LENGTH} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        return "name contains control characters"
    return None


def check_shape(device: str, name: object, data: object) -> Mapping[str, Any]:
    """Check one entry of the getter's reply against NAPALM's documented shape.

    Raises:
        GetterOutputError: Naming the device, the interface and every wrong field (its
            ``field`` is the first of them).
    """
    if not isinstance(name, str):
        raise GetterOutputError(f"interface name {name!r} is not a string", device=device)
    if not isinstance(data, Mapping):
        raise GetterOutputError(
            f"expected a mapping, got {type(data).__name__}", device=device, interface=name
        )
    problems = {
        field: problem
        for field, types in _GETTER_FIELDS.items()
        if (problem := _shape_problem(data, field, types)) is not None
    }
    if problems:
        first, *others = problems
        message = problems[first] + "".join(f"; field {f!r}: {problems[f]}" for f in others)
        raise GetterOutputError(message, device=device, interface=name, field=first)
    return data


def _shape_problem(data: Mapping[str, Any], field: str, types: tuple[type, ...]) -> str | None:
    """What is wrong with one field of an interface's entry, or None."""
    if field not in data:
        return "missing"
    value = data[field]
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        return f"expected {' or '.join(t.__name__ for t in types)}, got {reprlib.repr(value)}"
    return None


def _field(skipped: list[Skipped], name: str, field: str, value: Any, rule: Any, *args: Any) -> Any:
    """Apply one rule; an unusable value becomes None and a skipped entry."""
    try:
        return rule(value, *args)
    except UnusableValueError as exc:
        skipped.append(Skipped(name, f"{exc}; value not written", field))
        return None


def normalize_interface(
    name: str, data: Mapping[str, Any]
) -> tuple[DeviceInterface, list[Skipped]]:
    """Normalise one interface whose shape has been checked.

    Returns:
        The interface, and the values that could not be used.
    """
    skipped: list[Skipped] = []
    kind = interface_kind(name)
    speed = _field(skipped, name, "speed", data["speed"], speed_kbps, kind)
    length = len(_clean(data["description"]))
    if length > DESCRIPTION_MAX_LENGTH:
        skipped.append(
            Skipped(
                name,
                f"cut to NetBox's {DESCRIPTION_MAX_LENGTH} characters (the device has {length})",
                "description",
            )
        )
    interface = DeviceInterface(
        name=name,
        kind=kind,
        type=guess_type(name, kind, speed),
        enabled=data["is_enabled"],
        description=description(data["description"]),
        mtu=_field(skipped, name, "mtu", data["mtu"], mtu_bytes),
        speed=speed,
        mac_address=_field(skipped, name, "mac_address", data["mac_address"], mac_address),
        parent=parent_name(name),
    )
    return interface, skipped


def normalize(
    device: str,
    reply: object,
    include: Sequence[Pattern[str]] = (),
    exclude: Sequence[Pattern[str]] = (),
    driver: str = "",
) -> Normalized:
    """Normalise a device's whole ``get_interfaces`` reply.

    An interface whose entry is not the documented shape is skipped (named with its field);
    pseudo-interfaces and names NetBox cannot hold are skipped with their reason. A parent
    that is skipped takes its children with it, unless it is only outside ``include``.

    Args:
        device: Device name, for messages.
        reply: What ``get_interfaces`` returned.
        include: Patterns of the interfaces to sync (as :func:`.names.matches`).
        exclude: Patterns of more interfaces to skip.
        driver: The NAPALM driver that produced the reply (for its platform's own rules).

    Raises:
        GetterOutputError: The reply is not a mapping of interfaces.
    """
    if not isinstance(reply, Mapping):
        raise GetterOutputError(
            f"get_interfaces returned {type(reply).__name__}, not a mapping", device=device
        )
    interfaces: list[DeviceInterface] = []
    skipped: list[Skipped] = []
    dropped: set[str] = set()
    for name, data in reply.items():
        reason = name_problem(name) if isinstance(name, str) else None
        if isinstance(name, str) and reason is None:
            reason = skip_reason(name, include, exclude, driver)
        if reason is not None:
            skipped.append(Skipped(str(name), reason))
            if reason != NOT_INCLUDED:
                dropped.add(str(name))
            continue
        try:
            checked = check_shape(device, name, data)
        except GetterOutputError as exc:
            logger.warning("%s; interface not written", exc)
            what = exc.message.removeprefix(f"interface {name!r}, ")
            skipped.append(Skipped(str(name), f"not written, not NAPALM's shape: {what}"))
            dropped.add(str(name))
            continue
        interface, bad_values = normalize_interface(name, checked)
        interfaces.append(interface)
        skipped.extend(bad_values)
    return Normalized(*_drop_orphans(interfaces, skipped, dropped))


def _drop_orphans(
    interfaces: list[DeviceInterface], skipped: list[Skipped], dropped: set[str]
) -> tuple[tuple[DeviceInterface, ...], tuple[Skipped, ...]]:
    """Skip the children of interfaces that were themselves skipped as a whole (``dropped``)."""
    gone = set(dropped)
    kept: list[DeviceInterface] = []
    for interface in interfaces:
        if interface.parent is not None and interface.parent in gone:
            skipped.append(
                Skipped(interface.name, f"child of skipped interface {interface.parent}")
            )
            gone.add(interface.name)
        else:
            kept.append(interface)
    return tuple(kept), tuple(skipped)
