"""The Nornir task ``netbox_update_interfaces``: wires the steps, holds no rule of its own.

read the device (``napalm_get``) -> normalise -> read NetBox -> plan -> apply (or not, in a
dry run) -> report.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task
from nornir_napalm.plugins.tasks import napalm_get

from nornir_nb_ifsync.apply import Applied, apply_plan
from nornir_nb_ifsync.branch import BranchTarget, check_branch_name, open_branch
from nornir_nb_ifsync.exceptions import (
    ConfigurationError,
    DeviceNotFoundError,
    GetterOutputError,
    IfSyncError,
)
from nornir_nb_ifsync.models import NetBoxInterface, Plan, SyncReport
from nornir_nb_ifsync.names import compile_patterns, skip_reason
from nornir_nb_ifsync.netbox import NetBox, redact, thread_client
from nornir_nb_ifsync.normalize import Normalized, normalize
from nornir_nb_ifsync.plan import build_plan, owned_fields
from nornir_nb_ifsync.platforms import CONNECTION_NAME, check_driver, rules_driver
from nornir_nb_ifsync.report import build_report, render_diff, summary_line
from nornir_nb_ifsync.stale import StalePolicy, stale_policy

__all__ = ["CONNECTION_NAME", "netbox_update_interfaces"]

logger = logging.getLogger(__name__)

_NETBOX_INVENTORY = "NetBoxInventory2"

#: NetBox keeps change log messages of up to 200 characters; a run id stays well inside.
RUN_ID_MAX_LENGTH = 64


def netbox_update_interfaces(
    task: Task,
    dry_run: bool | None = None,
    *,
    netbox: Any | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    fields: Sequence[str] | None = None,
    stale: Literal["ignore", "tag", "disable", "delete"] = "ignore",
    stale_tag: str = "stale",
    protect: Sequence[str] = (),
    unprotect: Sequence[str] = (),
    max_delete: int | None = None,
    run_id: str | None = None,
    branch: str | None = None,
) -> Result:
    """Make the host's interfaces in NetBox match what the device reports.

    Reads ``get_interfaces`` with NAPALM, normalises it (speed in kbit/s, NAPALM's "unknown"
    sentinels dropped), reads the device's interfaces from NetBox in one request, plans the
    creates and field updates, and writes them with bulk requests; in a dry run it writes
    nothing and returns the plan.

    Args:
        task: The Nornir task.
        dry_run: Write nothing, report what would be written. None follows Nornir's global
            ``dry_run`` setting.
        netbox: A ready ``pynetbox.api``, used as it is (:func:`~nornir_nb_ifsync.connect`
            makes one with the sync's timeouts and retries). Default: the NetBoxInventory2
            options (``nb_url``, ``nb_token``, ``ssl_verify``) when that is the inventory,
            else the ``NB_URL`` and ``NB_TOKEN`` environment variables.
        include: Regular expressions of the interfaces to sync, matched against the whole
            name or its long form (``GigabitEthernet0/1`` matches ``Gi0/1``). One that
            matches a pseudo-interface of the default skip list brings it back.
        exclude: Regular expressions of more interfaces to skip, matched the same way.
        fields: NetBox fields the sync owns (``type``, ``enabled``, ``parent``, ``mtu``,
            ``speed``, ``mac_address``, ``description``); None owns all. ``type`` is only
            ever set on new interfaces; a new interface always gets a name and a type.
        stale: What to do with NetBox interfaces the device no longer reports: ``ignore``
            (only report them), ``tag`` (add ``stale_tag``; removed when the interface comes
            back), ``disable`` or ``delete``. Nothing stale is acted on when the device
            reports no interface.
        stale_tag: Slug of the tag of ``stale="tag"`` (created when missing).
        protect: Regular expressions of interface names never tagged, disabled or deleted,
            matched the same way.
        unprotect: Built-in protections to lift: ``connected`` (cable or marked
            connected), ``ip_addresses``, ``mgmt_only``, ``primary_ip``, ``module``.
        max_delete: With ``stale="delete"``, the most interfaces one device may lose; a
            device whose plan deletes more deletes none and says so.
        run_id: Identifier written in NetBox's change log message of every write (NetBox
            4.4+). Default: a new random one per call; pass one id to every host to find a
            whole run.
        branch: Name of a NetBox branch (netbox-branching plugin) to read and write instead
            of main, for review before it is merged: created when missing, used once ready.
            After writing, main's change log is checked to hold none of the run's changes. A
            dry run creates no branch: when it does not exist, the diff is against main and
            its first line says so.

    Returns:
        A Result whose ``result`` is a :class:`~nornir_nb_ifsync.models.SyncReport`,
        ``changed`` is True when anything was (or would be) written, ``diff`` is the text of
        every change, and ``failed`` is True when the device or NetBox could not be read or
        written.
    """
    dry = task.is_dry_run(dry_run)
    host = task.host.name
    run_id = run_id or uuid.uuid4().hex[:12]
    try:
        if branch is not None:
            check_branch_name(branch)
        if len(run_id) > RUN_ID_MAX_LENGTH or not run_id.isprintable():
            raise ValueError(f"run_id: {run_id!r} is not printable text of at most 64 characters")
        owned = owned_fields(fields)
        include_re = compile_patterns(include, "include")
        exclude_re = compile_patterns(exclude, "exclude")
        policy = stale_policy(
            stale, stale_tag, compile_patterns(protect, "protect"), unprotect, max_delete
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc), device=host) from exc
    driver = rules_driver(task.host, check_driver(task.host))
    device_id = _device_id(task)
    if netbox is not None and not hasattr(netbox, "dcim"):
        raise ConfigurationError(
            f"netbox= takes a pynetbox.api (nornir_nb_ifsync.connect(url, token) makes one), "
            f"not a {type(netbox).__name__}",
            device=host,
        )
    api = netbox or _api_from_config(task)
    target = open_branch(api, branch, dry_run=dry, device=host) if branch is not None else None
    client = NetBox(target.sync_api if target is not None else api, _changelog_message(run_id))

    reply = _read_device(task)
    normalized = normalize(host, reply, include_re, exclude_re, driver)
    if not normalized.interfaces:
        logger.warning("%s: the device reported no interface to sync; nothing is written", host)
    try:
        reconciled = task.run(
            task=_reconcile,
            name="reconcile",
            severity_level=logging.DEBUG,
            client=client,
            device_id=device_id,
            normalized=normalized,
            owned=owned,
            policy=policy,
            in_scope=lambda name: skip_reason(name, include_re, exclude_re, driver) is None,
            dry=dry,
            run_id=run_id,
            target=target,
        )[0]
    except NornirSubTaskError as exc:
        reconciled = exc.result[0]
        if not isinstance(reconciled.result, SyncReport):
            if isinstance(reconciled.exception, IfSyncError):
                error = reconciled.exception
                raise (target.explain(error) if target is not None else error) from None
            raise
    report: SyncReport = reconciled.result
    diff = render_diff(report)
    if target is not None:
        report = replace(report, branch=target.name)
        diff = f"{target.diff_header}\n{diff}" if diff else diff
    logger.info("%s", summary_line(report))
    return Result(
        host=task.host,
        result=report,
        changed=report.changed,
        diff=diff,
        failed=bool(report.error),
        exception=reconciled.exception,
    )


def _reconcile(
    task: Task,
    client: NetBox,
    device_id: int | None,
    normalized: Normalized,
    owned: frozenset[str],
    policy: StalePolicy,
    in_scope: Callable[[str], bool],
    dry: bool,
    run_id: str,
    target: BranchTarget | None = None,
) -> Result:
    """Read NetBox, plan, and apply (unless ``dry``); the Result holds the report.

    With a branch ``target``, main's change log is checked after the writes.
    """
    host = task.host.name
    client.version(host)
    device_id, device = client.find_device(host, device_id)
    netbox_interfaces = client.read_interfaces(device_id, device)
    primary_ip_ids: set[int] = set()
    if _needs_primary_ips(policy, netbox_interfaces):
        primary_ip_ids = client.primary_ip_interfaces(device_id, device)
    plan: Plan = build_plan(normalized, netbox_interfaces, owned, policy, in_scope, primary_ip_ids)
    for skip in plan.skipped:
        log = logger.warning if skip.field or "not written" in skip.reason else logger.debug
        log("%s: %s skipped: %s", device, skip.name, skip.reason)
    if plan.deletes_held:
        logger.warning(
            "%s: %d stale interfaces to delete, more than max_delete=%s: none deleted",
            device,
            plan.deletes_held,
            policy.max_delete,
        )
    if dry or not plan.has_writes:
        report = build_report(device, device_id, plan, None if dry else Applied(), run_id)
        return Result(host=task.host, result=report, changed=report.changed)

    applied = Applied()
    existing = {nb.name: nb.id for nb in netbox_interfaces}
    error: IfSyncError | None = None
    try:
        apply_plan(plan, client, device_id, device, existing, applied)
    except IfSyncError as exc:
        error = exc
    except Exception as exc:  # the report must still say what was written before
        error = IfSyncError(
            f"writing stopped by an unexpected {type(exc).__name__}: {redact(str(exc))}",
            device=device,
        )
        error.__cause__ = exc
    if target is not None and (error is None or applied.wrote):
        error = target.check_writes(device_id, _changelog_message(run_id), device, error)
    if error is not None:
        error = target.explain(error) if target is not None else error
        logger.error("%s", error)
        report = build_report(device, device_id, plan, applied, run_id, error=str(error))
        return Result(
            host=task.host, result=report, changed=report.changed, failed=True, exception=error
        )
    report = build_report(device, device_id, plan, applied, run_id)
    return Result(host=task.host, result=report, changed=report.changed)


def _changelog_message(run_id: str) -> str:
    """The change log message of every write of the run ``run_id``."""
    return f"nornir-nb-ifsync run {run_id}"


def _needs_primary_ips(policy: StalePolicy, netbox: Sequence[NetBoxInterface]) -> bool:
    """The primary IP interfaces need reading only when the IP protection does not cover them."""
    return (
        policy.mode != "ignore"
        and "primary_ip" in policy.protections
        and "ip_addresses" not in policy.protections
        and any(nb.ip_count for nb in netbox)
    )


def _read_device(task: Task) -> object:
    """Run ``napalm_get`` as a subtask and return the ``get_interfaces`` reply."""
    try:
        result = task.run(
            task=napalm_get,
            name="get_interfaces",
            getters=["get_interfaces"],
            severity_level=logging.DEBUG,
        )
    except NornirSubTaskError as exc:
        cause = exc.result.exception if hasattr(exc.result, "exception") else None
        raise GetterOutputError(
            f"get_interfaces failed: {cause or exc}; NetBox left alone", device=task.host.name
        ) from cause or exc
    reply = result.result
    if not isinstance(reply, Mapping) or "get_interfaces" not in reply:
        raise GetterOutputError("napalm_get returned no get_interfaces", device=task.host.name)
    return reply["get_interfaces"]


def _device_id(task: Task) -> int | None:
    """The NetBox device id NetBoxInventory2 gave the host, or None (then looked up by name).

    Raises:
        DeviceNotFoundError: The host is a virtual machine.
    """
    data = task.host.data
    url = str(data.get("url") or "")
    if "/virtualization/" in url or "vcpus" in data:
        raise DeviceNotFoundError(
            "is a virtual machine; the sync covers devices only", device=task.host.name
        )
    device_id = data.get("id")
    return (
        int(device_id) if isinstance(device_id, int) and not isinstance(device_id, bool) else None
    )


def _verify(value: object) -> bool | str:
    """Read ``ssl_verify``: a bool, a CA bundle path, or "true"/"false" text."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("false", "0", "no", "off"):
        return False
    if text.lower() in ("true", "1", "yes", "on", ""):
        return True
    return text


def _api_from_config(task: Task) -> Any:
    """Build (once per thread) the NetBox client from the inventory options or environment.

    Raises:
        ConfigurationError: No NetBox URL or token is configured.
    """
    inventory = task.nornir.config.inventory
    options: Mapping[str, Any] = {}
    if str(inventory.plugin).rsplit(".", 1)[-1] == _NETBOX_INVENTORY:
        options = inventory.options or {}
    url = options.get("nb_url") or os.environ.get("NB_URL")
    token = options.get("nb_token") or os.environ.get("NB_TOKEN")
    verify = _verify(options.get("ssl_verify", os.environ.get("NB_SSL_VERIFY", "true")))
    if not url or not token:
        raise ConfigurationError(
            "no NetBox configured: pass netbox=pynetbox.api(...), use NetBoxInventory2 "
            "(nb_url, nb_token), or set NB_URL and NB_TOKEN",
            device=task.host.name,
        )
    try:
        return thread_client(str(url), str(token), verify)
    except ConfigurationError as exc:
        raise ConfigurationError(exc.message, device=task.host.name) from None
