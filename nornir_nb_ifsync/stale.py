"""What to do with NetBox interfaces the device no longer reports.

The default is to do nothing and only report them. On request they are tagged, disabled or
deleted, except those a person would not want touched: with a cable, with IP addresses,
management-only, holding the device's primary IP, on a module, or matched by a ``protect``
pattern. Each of those is kept, and the report says why.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nornir_nb_ifsync.models import FieldChange, InterfaceDelete, NetBoxInterface, Skipped
from nornir_nb_ifsync.names import check_not_a_string, matches

#: The stale modes, from the most to the least cautious.
STALE_MODES: tuple[str, ...] = ("ignore", "tag", "disable", "delete")

#: Protections against tag/disable/delete, by name, with the reason the report gives.
PROTECTIONS: Mapping[str, str] = {
    "connected": "has a cable or is marked connected",
    "ip_addresses": "has IP addresses",
    "mgmt_only": "is management-only",
    "primary_ip": "holds the device's primary IP",
    "module": "is on a module",
}


@dataclass(frozen=True)
class StalePolicy:
    """How stale interfaces are handled.

    Attributes:
        mode: ``ignore`` (report only), ``tag``, ``disable`` or ``delete``.
        tag: Slug of the tag ``tag`` mode adds (and removes when the interface comes back).
        protect: Patterns of interface names never acted on (as :func:`.names.matches`).
        protections: The names of :data:`PROTECTIONS` in force.
        max_delete: Most interfaces one device may lose in one run; None for no limit.
    """

    mode: str = "ignore"
    tag: str = "stale"
    protect: tuple[re.Pattern[str], ...] = ()
    protections: frozenset[str] = field(default_factory=lambda: frozenset(PROTECTIONS))
    max_delete: int | None = None


def stale_policy(
    mode: str = "ignore",
    tag: str = "stale",
    protect: Sequence[re.Pattern[str]] = (),
    unprotect: Iterable[str] = (),
    max_delete: int | None = None,
) -> StalePolicy:
    """Validate the stale options into a :class:`StalePolicy`.

    Raises:
        ValueError: An unknown mode or protection name, an empty tag, a negative
            ``max_delete``.
    """
    check_not_a_string(unprotect, "unprotect")
    if mode not in STALE_MODES:
        raise ValueError(f"stale: {mode!r} is not one of {', '.join(STALE_MODES)}")
    unknown = sorted(set(unprotect) - set(PROTECTIONS))
    if unknown:
        raise ValueError(
            f"unprotect: unknown protection(s) {', '.join(unknown)}; "
            f"known: {', '.join(PROTECTIONS)}"
        )
    if not tag or not re.fullmatch(r"[-\w]+", tag):
        raise ValueError(f"stale_tag: {tag!r} is not a tag slug")
    if max_delete is not None and (isinstance(max_delete, bool) or max_delete < 0):
        raise ValueError(f"max_delete: {max_delete!r} is not a count of interfaces")
    return StalePolicy(
        mode=mode,
        tag=tag,
        protect=tuple(protect),
        protections=frozenset(PROTECTIONS) - set(unprotect),
        max_delete=max_delete,
    )


def protection(
    interface: NetBoxInterface, policy: StalePolicy, primary_ip_ids: Collection[int]
) -> str | None:
    """Return why a stale interface must be kept, or None when it may be acted on."""
    if matches(policy.protect, interface.name):
        return "matched by protect"
    facts = {
        "connected": interface.connected,
        "ip_addresses": interface.ip_count > 0,
        "mgmt_only": interface.mgmt_only,
        "primary_ip": interface.id in primary_ip_ids,
        "module": interface.on_module,
    }
    for name, reason in PROTECTIONS.items():
        if name in policy.protections and facts[name]:
            return reason
    return None


@dataclass(frozen=True)
class StalePlan:
    """The stale part of a plan.

    Attributes:
        changes: Interface id -> field changes (tags or enabled).
        deletes: Interfaces to delete, children before parents.
        kept: Stale interfaces left alone, with the reason.
        held: Deletions ``max_delete`` held back (then ``deletes`` is empty).
    """

    changes: Mapping[int, tuple[FieldChange, ...]]
    deletes: tuple[InterfaceDelete, ...]
    kept: tuple[Skipped, ...]
    held: int = 0


def _tag_change(interface: NetBoxInterface, tags: Iterable[str]) -> FieldChange:
    return FieldChange("tags", sorted(interface.tags), sorted(tags))


def untag_returning(
    present: Iterable[NetBoxInterface], policy: StalePolicy
) -> dict[int, tuple[FieldChange, ...]]:
    """In ``tag`` mode, remove the stale tag from interfaces the device reports again."""
    if policy.mode != "tag":
        return {}
    return {
        nb.id: (_tag_change(nb, set(nb.tags) - {policy.tag}),)
        for nb in present
        if policy.tag in nb.tags
    }


def _depth(interface: NetBoxInterface, by_id: Mapping[int, NetBoxInterface]) -> int:
    depth, parent_id, seen = 0, interface.parent_id, {interface.id}
    while parent_id is not None and parent_id in by_id and parent_id not in seen:
        seen.add(parent_id)
        depth, parent_id = depth + 1, by_id[parent_id].parent_id
    return depth


def plan_stale(
    stale: Sequence[NetBoxInterface],
    netbox: Sequence[NetBoxInterface],
    policy: StalePolicy,
    primary_ip_ids: Collection[int] = (),
) -> StalePlan:
    """Plan the action on each stale interface.

    Args:
        stale: NetBox interfaces the device did not report (and that are in scope).
        netbox: All the device's NetBox interfaces (to find children of stale ones).
        policy: What to do.
        primary_ip_ids: Ids of the interfaces holding the device's primary IPs.
    """
    if policy.mode == "ignore" or not stale:
        return StalePlan({}, (), ())
    kept: list[Skipped] = []
    acted: list[NetBoxInterface] = []
    for interface in stale:
        reason = protection(interface, policy, primary_ip_ids)
        if reason is None:
            acted.append(interface)
        else:
            kept.append(Skipped(interface.name, f"stale, kept: {reason}"))
    if policy.mode == "tag":
        changes = {
            nb.id: (_tag_change(nb, {*nb.tags, policy.tag}),)
            for nb in acted
            if policy.tag not in nb.tags
        }
        return StalePlan(changes, (), tuple(kept))
    if policy.mode == "disable":
        changes = {nb.id: (FieldChange("enabled", True, False),) for nb in acted if nb.enabled}
        return StalePlan(changes, (), tuple(kept))
    return _plan_deletes(acted, netbox, policy, kept)


def _holders(interface: NetBoxInterface) -> tuple[tuple[int | None, str], ...]:
    """The interfaces ``interface`` belongs to, each with what it is to it."""
    return (
        (interface.parent_id, "parent"),
        (interface.lag_id, "LAG"),
        (interface.bridge_id, "bridge"),
    )


def _plan_deletes(
    acted: list[NetBoxInterface],
    netbox: Sequence[NetBoxInterface],
    policy: StalePolicy,
    kept: list[Skipped],
) -> StalePlan:
    """Delete what may go: never more than max_delete, and never a parent, LAG or bridge
    one of whose members stays (NetBox would silently unset the member's field)."""
    by_id = {nb.id: nb for nb in netbox}
    going = {nb.id for nb in acted}
    changed = True
    while changed:
        changed = False
        for nb in netbox:
            if nb.id in going:
                continue
            for holder_id, role in _holders(nb):
                if holder_id in going:
                    going.discard(holder_id)
                    kept.append(Skipped(by_id[holder_id].name, f"stale, kept: {role} of {nb.name}"))
                    changed = True
    deletes = [nb for nb in acted if nb.id in going]
    if policy.max_delete is not None and len(deletes) > policy.max_delete:
        reason = (
            f"stale, kept: {len(deletes)} deletions planned, more than "
            f"max_delete={policy.max_delete}; nothing deleted"
        )
        kept.extend(Skipped(nb.name, reason) for nb in deletes)
        return StalePlan({}, (), tuple(kept), held=len(deletes))
    ordered = sorted(deletes, key=lambda nb: -_depth(nb, by_id))
    return StalePlan(
        {}, tuple(InterfaceDelete(nb.id, nb.name, _depth(nb, by_id)) for nb in ordered), tuple(kept)
    )
