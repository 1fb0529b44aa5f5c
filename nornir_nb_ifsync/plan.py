"""Turn what the device reports and what NetBox holds into a :class:`Plan`.

Nothing here talks to NetBox: the plan is what a dry run shows and what the apply step sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from nornir_nb_ifsync.diff import Matching, field_changes, match_interfaces
from nornir_nb_ifsync.models import (
    SYNC_FIELDS,
    DeviceInterface,
    FieldChange,
    InterfaceCreate,
    InterfaceUpdate,
    NetBoxInterface,
    Plan,
    Skipped,
)
from nornir_nb_ifsync.names import canonical_key, check_not_a_string, name_keys
from nornir_nb_ifsync.normalize import Normalized
from nornir_nb_ifsync.stale import StalePlan, StalePolicy, plan_stale, untag_returning

logger = logging.getLogger(__name__)

#: The default stale policy: report stale interfaces, touch none.
IGNORE_STALE = StalePolicy()

#: The only NetBox interface type that may have a parent.
PARENT_TYPE = "virtual"


def owned_fields(fields: Iterable[str] | None) -> frozenset[str]:
    """Validate the ``fields`` option: None means every field the sync owns.

    Raises:
        ValueError: A name is not one of :data:`~nornir_nb_ifsync.models.SYNC_FIELDS`.
    """
    if fields is None:
        return frozenset(SYNC_FIELDS)
    check_not_a_string(fields, "fields")
    chosen = frozenset(fields)
    unknown = sorted(chosen - set(SYNC_FIELDS))
    if unknown:
        raise ValueError(
            f"fields: unknown field(s) {', '.join(unknown)}; known: {', '.join(SYNC_FIELDS)}"
        )
    return chosen


def _create_values(
    interface: DeviceInterface, name: str, owned: Collection[str], parent: str | None
) -> dict[str, Any]:
    """The fields of a new interface: name and type always, the rest when owned."""
    values: dict[str, Any] = {"name": name, "type": interface.type}
    candidates: dict[str, Any] = {
        "enabled": interface.enabled,
        "parent": parent,
        "mtu": interface.mtu,
        "speed": interface.speed,
        "mac_address": interface.mac_address,
        "description": interface.description,
    }
    for field in SYNC_FIELDS:
        if field in candidates and field in owned:
            values[field] = candidates[field]
    return values


def _depth(name: str, parents: Mapping[str, str | None]) -> int:
    """How many parents above ``name`` are to be created too (a loop counts once)."""
    depth, seen = 0, {name}
    parent = parents.get(name)
    while parent is not None and parent not in seen:
        seen.add(parent)
        depth, parent = depth + 1, parents.get(parent)
    return depth


def _netbox_names(
    matching: Matching, netbox: Sequence[NetBoxInterface], skipped: list[Skipped]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Name every device interface as NetBox will, and find its parent.

    A paired interface has NetBox's name. A new one keeps the device's, except a child of a
    parent NetBox spells otherwise: it takes the parent's spelling (``Gi0/1.100`` under
    ``GigabitEthernet0/1`` is created as ``GigabitEthernet0/1.100``). A parent is looked for
    among the interfaces synced from the device, then among those NetBox already has (a
    parent outside ``include``); one in neither is dropped, with a note.

    Returns:
        Device name -> NetBox name, and NetBox name -> its parent's NetBox name (or None).
    """
    names = {i.name: nb.name for i, nb in matching.pairs}
    in_netbox = {canonical_key(nb.name): nb.name for nb in netbox}
    parents: dict[str, str | None] = {}
    interfaces = [i for i, _ in matching.pairs] + list(matching.missing)
    for interface in sorted(interfaces, key=lambda i: i.name.count(".")):
        parent = _parent(interface, names, in_netbox, skipped)
        if interface.name not in names:
            renamed = parent is not None and interface.parent not in (None, parent)
            suffix = interface.name[len(interface.parent or "") :]
            names[interface.name] = f"{parent}{suffix}" if renamed else interface.name
        parents[names[interface.name]] = parent
    return names, parents


def _parent(
    interface: DeviceInterface,
    names: Mapping[str, str],
    in_netbox: Mapping[str, str],
    skipped: list[Skipped],
) -> str | None:
    """The NetBox name of an interface's parent, from the device or from NetBox."""
    parent = interface.parent
    if parent is None:
        return None
    if parent in names:
        return names[parent]
    if canonical_key(parent) in in_netbox:
        return in_netbox[canonical_key(parent)]
    skipped.append(
        Skipped(
            interface.name,
            f"parent {parent} is neither synced from the device nor in NetBox",
            "parent",
        )
    )
    return None


def _update(
    interface: DeviceInterface,
    nb_interface: NetBoxInterface,
    owned: Collection[str],
    parent: str | None,
    nb_names: Mapping[int, str],
    skipped: list[Skipped],
) -> tuple[FieldChange, ...]:
    nb_parent = nb_names.get(nb_interface.parent_id) if nb_interface.parent_id else None
    changes = field_changes(interface, nb_interface, owned, parent, nb_parent)
    if nb_interface.type != PARENT_TYPE and any(c.field == "parent" for c in changes):
        skipped.append(
            Skipped(
                nb_interface.name,
                f"NetBox allows a parent only on virtual interfaces; this one is "
                f"{nb_interface.type}, so no parent {parent} was set",
                "parent",
            )
        )
        changes = tuple(c for c in changes if c.field != "parent")
    return changes


def _stale_candidates(
    normalized: Normalized,
    not_on_device: Sequence[NetBoxInterface],
    in_scope: Callable[[str], bool],
) -> list[NetBoxInterface]:
    """NetBox interfaces the device did not report at all, among those the sync manages.

    An interface the device reported but the rules skipped is not stale, nor is one outside
    ``include`` / inside ``exclude`` or the default skip list.
    """
    names = [i.name for i in normalized.interfaces] + [s.name for s in normalized.skipped]
    reported = {key for name in names for key in name_keys(name)}
    return [nb for nb in not_on_device if in_scope(nb.name) and not name_keys(nb.name) & reported]


def _second_spellings_in_netbox(matching: Matching) -> list[Skipped]:
    """NetBox interfaces left unpaired that are another spelling of a paired one (NetBox
    holds ``Gi0/1`` and ``GigabitEthernet0/1``): reported, never touched."""
    paired = {key: nb.name for _, nb in matching.pairs for key in name_keys(nb.name)}
    found = []
    for nb in matching.not_on_device:
        twin = next((paired[key] for key in name_keys(nb.name) if key in paired), None)
        if twin is not None:
            found.append(Skipped(nb.name, f"in NetBox a second spelling of {twin}; left alone"))
    return found


def build_plan(
    normalized: Normalized,
    netbox: Sequence[NetBoxInterface],
    owned: Collection[str] = SYNC_FIELDS,
    policy: StalePolicy = IGNORE_STALE,
    in_scope: Callable[[str], bool] = lambda name: True,
    primary_ip_ids: Collection[int] = (),
) -> Plan:
    """Plan the creates, updates and stale actions that make NetBox match the device.

    Args:
        normalized: The device's interfaces, normalised.
        netbox: The device's interfaces in NetBox.
        owned: The fields the sync owns (see :func:`owned_fields`).
        policy: What to do with stale interfaces.
        in_scope: Whether the sync manages a NetBox interface of this name.
        primary_ip_ids: Ids of the interfaces holding the device's primary IPs.

    Returns:
        The plan. Creates are ordered so that every parent comes before its children, deletes
        so that every child comes before its parent. Nothing stale is acted on when the
        device reported no interface.
    """
    skipped = list(normalized.skipped)
    matching = match_interfaces(normalized.interfaces, netbox)
    skipped.extend(matching.duplicates)
    skipped.extend(_second_spellings_in_netbox(matching))
    names, parents = _netbox_names(matching, netbox, skipped)
    nb_names = {nb.id: nb.name for nb in netbox}

    stale = _stale_candidates(normalized, matching.not_on_device, in_scope)
    if normalized.interfaces or policy.mode == "ignore":
        stale_plan = plan_stale(stale, netbox, policy, primary_ip_ids)
    else:
        reason = "stale, kept: the device reported no interface"
        stale_plan = StalePlan({}, (), tuple(Skipped(nb.name, reason) for nb in stale))
    extra = {**untag_returning((nb for _, nb in matching.pairs), policy), **stale_plan.changes}

    updates: list[InterfaceUpdate] = []
    unchanged: list[str] = []
    for interface, nb_interface in matching.pairs:
        changes = _update(
            interface, nb_interface, owned, parents[nb_interface.name], nb_names, skipped
        ) + extra.get(nb_interface.id, ())
        if changes:
            updates.append(InterfaceUpdate(nb_interface.id, nb_interface.name, changes))
        else:
            unchanged.append(nb_interface.name)
    updates.extend(InterfaceUpdate(nb.id, nb.name, extra[nb.id]) for nb in stale if nb.id in extra)

    new = [(names[i.name], i) for i in matching.missing]
    creates = sorted(
        (InterfaceCreate(name, _create_values(i, name, owned, parents[name])) for name, i in new),
        key=lambda c: _depth(c.name, parents),
    )
    return Plan(
        creates=tuple(creates),
        updates=tuple(updates),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
        not_on_device=tuple(nb.name for nb in stale),
        deletes=stale_plan.deletes,
        kept=stale_plan.kept,
        deletes_held=stale_plan.held,
    )
