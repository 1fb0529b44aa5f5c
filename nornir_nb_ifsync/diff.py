"""Pair device interfaces with NetBox interfaces, and compare them field by field."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from nornir_nb_ifsync.models import DeviceInterface, FieldChange, NetBoxInterface, Skipped
from nornir_nb_ifsync.names import canonical_key, name_keys

#: NetBox types on which a speed means nothing.
NO_SPEED_TYPES = frozenset({"virtual", "bridge"})


@dataclass(frozen=True)
class Matching:
    """Device interfaces paired with NetBox interfaces.

    Attributes:
        pairs: (device interface, its NetBox interface), in the device's order.
        missing: Device interfaces NetBox does not have.
        duplicates: Device interfaces that are another spelling of one already paired.
        not_on_device: NetBox interfaces no device interface matched.
    """

    pairs: tuple[tuple[DeviceInterface, NetBoxInterface], ...]
    missing: tuple[DeviceInterface, ...]
    duplicates: tuple[Skipped, ...]
    not_on_device: tuple[NetBoxInterface, ...]


def _index(
    netbox: Iterable[NetBoxInterface], key: Callable[[str], str]
) -> dict[str, list[NetBoxInterface]]:
    index: dict[str, list[NetBoxInterface]] = {}
    for nb_interface in netbox:
        index.setdefault(key(nb_interface.name), []).append(nb_interface)
    return index


def match_interfaces(
    device: Iterable[DeviceInterface], netbox: Collection[NetBoxInterface]
) -> Matching:
    """Pair each device interface with at most one NetBox interface.

    Exact names first; then, for what is left, the same name ignoring case, then the same
    canonical long name (``Gi0/1`` ~ ``GigabitEthernet0/1``), then a long name an ambiguous
    short name may also stand for (``Fi1/0/1`` ~ ``FiveGigabitEthernet1/0/1``). A looser
    match is used only when it is unambiguous. A device interface left unpaired whose
    canonical name is that of some NetBox interface is reported, never created: a second
    spelling is never made.
    """
    device = list(device)
    keys: tuple[Callable[[str], str], ...] = (lambda n: n, str.casefold, canonical_key)
    paired: dict[str, NetBoxInterface] = {}
    for key in keys:
        taken = {nb.id for nb in paired.values()}
        index = _index((nb for nb in netbox if nb.id not in taken), key)
        for interface in device:
            candidates = index.get(key(interface.name), [])
            if interface.name not in paired and len(candidates) == 1:
                paired[interface.name] = candidates[0]
                index.pop(key(interface.name))
    paired.update(_ambiguous_short_names(device, netbox, paired))

    spellings = {canonical_key(nb.name): nb.name for nb in netbox}
    missing: list[DeviceInterface] = []
    duplicates: list[Skipped] = []
    for interface in (i for i in device if i.name not in paired):
        canonical = canonical_key(interface.name)
        if canonical in spellings:
            duplicates.append(
                Skipped(interface.name, f"another spelling of {spellings[canonical]}")
            )
        else:
            spellings[canonical] = interface.name
            missing.append(interface)
    taken = {nb.id for nb in paired.values()}
    return Matching(
        pairs=tuple((i, paired[i.name]) for i in device if i.name in paired),
        missing=tuple(missing),
        duplicates=tuple(duplicates),
        not_on_device=tuple(nb for nb in netbox if nb.id not in taken),
    )


def _ambiguous_short_names(
    device: Iterable[DeviceInterface],
    netbox: Iterable[NetBoxInterface],
    paired: Mapping[str, NetBoxInterface],
) -> dict[str, NetBoxInterface]:
    """Pair what is left through the other long names of ambiguous short names, one to one."""
    taken = {nb.id for nb in paired.values()}
    by_key: dict[str, list[NetBoxInterface]] = {}
    for nb in netbox:
        if nb.id not in taken:
            for key in name_keys(nb.name):
                by_key.setdefault(key, []).append(nb)
    candidates = {
        interface.name: list(
            {nb.id: nb for key in name_keys(interface.name) for nb in by_key.get(key, [])}.values()
        )
        for interface in device
        if interface.name not in paired
    }
    claims: dict[int, int] = {}
    for found in candidates.values():
        for nb in found:
            claims[nb.id] = claims.get(nb.id, 0) + 1
    return {
        name: found[0]
        for name, found in candidates.items()
        if len(found) == 1 and claims[found[0].id] == 1
    }


def field_changes(
    interface: DeviceInterface,
    nb_interface: NetBoxInterface,
    owned: Collection[str],
    parent: str | None = None,
    nb_parent: str | None = None,
) -> tuple[FieldChange, ...]:
    """Compare one interface with NetBox, for the fields the sync owns.

    Unknown device values (None) never change NetBox, and the type of an existing interface
    is never changed. Parents are compared by name, in NetBox's spelling.

    Args:
        interface: What the device reports.
        nb_interface: What NetBox holds.
        owned: The fields the sync owns.
        parent: The parent the interface should have (None: the device reports none).
        nb_parent: The parent it has in NetBox.

    Returns:
        The changes, in :data:`~nornir_nb_ifsync.models.SYNC_FIELDS` order.
    """
    changes: list[FieldChange] = []
    if "enabled" in owned and interface.enabled != nb_interface.enabled:
        changes.append(FieldChange("enabled", nb_interface.enabled, interface.enabled))
    if "parent" in owned and parent is not None and parent != nb_parent:
        changes.append(FieldChange("parent", nb_parent, parent))
    if "mtu" in owned and interface.mtu is not None and interface.mtu != nb_interface.mtu:
        changes.append(FieldChange("mtu", nb_interface.mtu, interface.mtu))
    if (
        "speed" in owned
        and interface.speed is not None
        and nb_interface.type not in NO_SPEED_TYPES
        and interface.speed != nb_interface.speed
    ):
        changes.append(FieldChange("speed", nb_interface.speed, interface.speed))
    if (
        "mac_address" in owned
        and interface.mac_address is not None
        and interface.mac_address.upper() != (nb_interface.mac_address or "").upper()
    ):
        changes.append(FieldChange("mac_address", nb_interface.mac_address, interface.mac_address))
    if "description" in owned and interface.description != nb_interface.description:
        changes.append(FieldChange("description", nb_interface.description, interface.description))
    return tuple(changes)
