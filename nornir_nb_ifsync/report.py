"""Build the :class:`SyncReport` and the diff text a person reads in ``print_result``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nornir_nb_ifsync.apply import Applied
from nornir_nb_ifsync.models import (
    SYNC_FIELDS,
    InterfaceCreate,
    InterfaceUpdate,
    Plan,
    Skipped,
    SyncReport,
)


def build_report(
    device: str,
    device_id: int,
    plan: Plan,
    applied: Applied | None,
    run_id: str,
    error: str = "",
) -> SyncReport:
    """Return the report of one device.

    Args:
        device: NetBox device name.
        device_id: NetBox device id.
        plan: The plan.
        applied: What reached NetBox, or None for a dry run (the plan is then reported).
        run_id: This run's id.
        error: Why writing failed, or "".
    """
    if applied is None:
        return SyncReport(
            device=device,
            device_id=device_id,
            dry_run=True,
            created=plan.creates,
            updated=plan.updates,
            unchanged=plan.unchanged,
            skipped=plan.skipped,
            not_on_device=plan.not_on_device,
            run_id=run_id,
            deleted=plan.deletes,
            kept=plan.kept,
        )
    done = {c.name for c in applied.created} | {u.name for u in applied.updated}
    done |= {d.name for d in applied.deleted}
    refused = {s.name for s in applied.refused if s.field is None} | set(applied.dropped)
    planned = [c.name for c in plan.creates] + [u.name for u in plan.updates]
    planned += [d.name for d in plan.deletes]
    return SyncReport(
        device=device,
        device_id=device_id,
        dry_run=False,
        created=tuple(applied.created),
        updated=tuple(applied.updated),
        unchanged=plan.unchanged,
        skipped=plan.skipped + tuple(applied.refused),
        not_on_device=plan.not_on_device,
        run_id=run_id,
        deleted=tuple(applied.deleted),
        kept=plan.kept,
        not_written=tuple(n for n in planned if n not in done and n not in refused),
        error=error,
    )


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _create_line(create: InterfaceCreate) -> str:
    values = " ".join(
        f"{field}={_value(create.values[field])}" for field in SYNC_FIELDS if field in create.values
    )
    return f"+ {create.name}  {values}"


def _update_lines(update: InterfaceUpdate) -> Iterable[str]:
    for change in update.changes:
        yield f"~ {update.name}  {change.field}: {_value(change.old)} → {_value(change.new)}"


def _skipped_lines(skipped: Iterable[Skipped]) -> Iterable[str]:
    """One line per skipped value; interfaces skipped for the same reason share a line."""
    by_reason: dict[str, list[str]] = {}
    for skip in skipped:
        if skip.field is None:
            by_reason.setdefault(skip.reason, []).append(skip.name)
        else:
            yield f"! {skip.name}  {skip.field}: {skip.reason}"
    for reason, names in by_reason.items():
        yield f"! skipped ({reason}): {', '.join(names)}"


def render_diff(report: SyncReport) -> str:
    """Return the diff text: ``+`` a created interface with its values, ``~`` one changed
    field ``old → new``, ``-`` a deleted stale interface, ``!`` what was skipped and why,
    ``=`` a stale interface kept and why, ``x`` what a failed write left unwritten, ``?`` what
    NetBox has and the device did not report."""
    lines = [_create_line(c) for c in report.created]
    for update in report.updated:
        lines.extend(_update_lines(update))
    lines.extend(f"- {d.name}  delete (not on the device)" for d in report.deleted)
    lines.extend(_skipped_lines(report.skipped))
    lines.extend(f"= {k.name}  {k.reason}" for k in report.kept)
    if report.not_written:
        lines.append(f"x not written (failed): {', '.join(report.not_written)}")
    acted = {d.name for d in report.deleted} | {k.name for k in report.kept}
    acted |= {u.name for u in report.updated}
    left = [name for name in report.not_on_device if name not in acted]
    if left:
        lines.append(f"? in NetBox, not on the device: {', '.join(left)}")
    return "\n".join(lines)


def summary_line(report: SyncReport) -> str:
    """Return the one-line count of a report, as logged at INFO."""
    verb = "would create" if report.dry_run else "created"
    return (
        f"{report.device}: {verb} {len(report.created)}, "
        f"{'would update' if report.dry_run else 'updated'} {len(report.updated)}, "
        f"{'would delete' if report.dry_run else 'deleted'} {len(report.deleted)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}, "
        f"not on device {len(report.not_on_device)}"
    )
