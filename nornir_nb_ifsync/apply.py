"""Send a :class:`Plan` to NetBox: bulk creates (parents first), then one bulk update."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nornir_nb_ifsync.exceptions import WriteError
from nornir_nb_ifsync.models import (
    BulkOutcome,
    InterfaceCreate,
    InterfaceDelete,
    InterfaceUpdate,
    Plan,
    Skipped,
)
from nornir_nb_ifsync.netbox import NetBox

logger = logging.getLogger(__name__)


@dataclass
class Applied:
    """What reached NetBox. Filled as the writes succeed, so a failure midway still says
    exactly what was written before it.

    Attributes:
        created: Interfaces created.
        updated: Interfaces updated.
        deleted: Stale interfaces deleted.
        refused: Interfaces NetBox refused, or that could not be written because of them; a
            refusal naming a field left the interface's other changes to be sent.
        dropped: Interfaces whose every planned change was refused before it was sent.
    """

    created: list[InterfaceCreate] = field(default_factory=list)
    updated: list[InterfaceUpdate] = field(default_factory=list)
    deleted: list[InterfaceDelete] = field(default_factory=list)
    refused: list[Skipped] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        """True when at least one interface was created, updated or deleted."""
        return bool(self.created or self.updated or self.deleted)


def _waves(creates: tuple[InterfaceCreate, ...]) -> list[list[InterfaceCreate]]:
    """Split creates so that no interface is sent in the same request as its parent."""
    waves: list[list[InterfaceCreate]] = []
    wave_of: dict[str, int] = {}
    for create in creates:
        parent_wave = wave_of.get(create.parent or "", -1)
        index = parent_wave + 1
        wave_of[create.name] = index
        if index == len(waves):
            waves.append([])
        waves[index].append(create)
    return waves


def _payload(values: Mapping[str, Any], ids: Mapping[str, int]) -> dict[str, Any]:
    """Turn planned values into a NetBox payload: parent by id, tags by slug, unknown MACs
    left out."""
    payload = {k: v for k, v in values.items() if not (k == "mac_address" and v is None)}
    parent = payload.pop("parent", None)
    if parent is not None:
        payload["parent"] = ids[parent]
    if "tags" in payload:
        payload["tags"] = [{"slug": slug} for slug in payload["tags"]]
    return payload


def _new_tags(updates: list[InterfaceUpdate]) -> set[str]:
    return {
        slug
        for update in updates
        for change in update.changes
        if change.field == "tags"
        for slug in set(change.new) - set(change.old)
    }


def _sent(write: Callable[..., BulkOutcome], *args: Any) -> tuple[BulkOutcome, WriteError | None]:
    """Run one bulk write; a failed one still gives what it wrote before failing."""
    try:
        return write(*args), None
    except WriteError as exc:
        return exc.outcome, exc


def _finish(
    applied: Applied,
    outcome: BulkOutcome,
    failure: WriteError | None,
    refused: str = "NetBox refused",
) -> None:
    """Record what NetBox refused in one bulk write, then raise its failure, if any."""
    applied.refused.extend(Skipped(r.name, f"{refused}: {r.reason}") for r in outcome.refused)
    if failure is not None:
        raise failure


def _blocked_by_parent(create: InterfaceCreate, ids: Mapping[str, int], applied: Applied) -> bool:
    if create.parent is None or create.parent in ids:
        return False
    applied.refused.append(
        Skipped(create.name, f"not created: its parent {create.parent} was not created")
    )
    return True


def apply_plan(
    plan: Plan,
    netbox: NetBox,
    device_id: int,
    device: str,
    ids: Mapping[str, int],
    applied: Applied,
) -> Applied:
    """Write the plan: one bulk create per level of parents, one bulk update, then the
    deletes of stale interfaces (one request per level of children).

    Args:
        plan: What to write.
        netbox: The NetBox client.
        device_id: NetBox id of the device.
        device: Device name, for messages.
        ids: Interface name (NetBox spelling) -> id of what NetBox already holds.
        applied: Filled in as writes succeed.

    Returns:
        ``applied``.

    Raises:
        NetBoxError: A write failed for another reason than a refused item. ``applied``
            then holds what was written before.
    """
    known = dict(ids)
    for wave in _waves(plan.creates):
        sendable = [c for c in wave if not _blocked_by_parent(c, known, applied)]
        if not sendable:
            continue
        payload = [{"device": device_id, **_payload(c.values, known)} for c in sendable]
        outcome, failure = _sent(netbox.create_interfaces, payload, device)
        known.update(outcome.written)
        applied.created.extend(c for c in sendable if c.name in outcome.written)
        _finish(applied, outcome, failure)

    updates = [u for u in (_with_known_parent(u, known, applied) for u in plan.updates) if u]
    for slug in sorted(_new_tags(updates)):
        netbox.ensure_tag(slug, device)
    if updates:
        names = {u.id: u.name for u in updates}
        payload = [
            {"id": u.id, **_payload({c.field: c.new for c in u.changes}, known)} for u in updates
        ]
        outcome, failure = _sent(netbox.update_interfaces, payload, names, device)
        applied.updated.extend(u for u in updates if u.name in outcome.written)
        _finish(applied, outcome, failure)
    _delete(plan, netbox, device, applied)
    logger.debug(
        "%s: applied %d creates, %d updates, %d deletes",
        device,
        len(applied.created),
        len(applied.updated),
        len(applied.deleted),
    )
    return applied


def _delete(plan: Plan, netbox: NetBox, device: str, applied: Applied) -> None:
    """Delete stale interfaces, one request per level: children before their parents."""
    names = {d.id: d.name for d in plan.deletes}
    for depth in sorted({d.depth for d in plan.deletes}, reverse=True):
        wave = [d for d in plan.deletes if d.depth == depth]
        ids = [d.id for d in wave]
        outcome, failure = _sent(netbox.delete_interfaces, ids, names, device)
        applied.deleted.extend(d for d in wave if d.name in outcome.written)
        _finish(applied, outcome, failure, "NetBox refused the delete")


def _with_known_parent(
    update: InterfaceUpdate, ids: Mapping[str, int], applied: Applied
) -> InterfaceUpdate | None:
    """Drop a parent change whose parent was not created; None when nothing is left."""
    parent = next((c.new for c in update.changes if c.field == "parent"), None)
    if parent is None or parent in ids:
        return update
    applied.refused.append(
        Skipped(update.name, f"parent not set: {parent} was not created", "parent")
    )
    changes = tuple(c for c in update.changes if c.field != "parent")
    if not changes:
        applied.dropped.append(update.name)
        return None
    return InterfaceUpdate(update.id, update.name, changes)
