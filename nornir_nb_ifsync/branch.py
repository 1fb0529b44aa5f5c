"""NetBox branches (the netbox-branching plugin): read and write a branch instead of main.

Using a branch
    :func:`branch_api` finds the branch by name (``GET /api/plugins/branching/branches/?name=``),
    creates it when it is missing (``POST``), waits with backoff until the plugin's background
    job has provisioned it (``status`` goes ``new`` → ``provisioning`` → ``ready``), and returns
    a new ``pynetbox.api`` for the same URL and token whose own session sends
    ``X-NetBox-Branch: <schema id>``: every request made through it reads and writes the branch.
    The caller's api and its session are left as they are (pynetbox's ``activate_branch`` sets
    the header on the api's shared session, which the runner's threads syncing other hosts would
    pick up).

What proves that the writes did not land in main
    NetBox with the plugin refuses (400) a request whose header names no ready branch, so a
    header that reaches the plugin cannot fall back to main. What is left is a header that never
    reaches it (a proxy that drops it), which two checks cover:

    1. Before the first write, once per branch api: :func:`check_header_honoured` sends one
       request whose header names a schema id no branch can have (the plugin's ids have 8
       characters). NetBox must refuse it with 400; an answer of 200 means the header is not
       seen, and nothing is written. Listing ``branches/?schema_id=...`` would prove nothing:
       the plugin's filter ignores that parameter and lists every branch.
    2. After a host's writes (all of them, or those made before a failure):
       :func:`check_not_in_main` reads main's change log (one request, without the header)
       for entries of the device carrying this run's change log message. Every write carries
       that message and the plugin keeps a branch's change log in the branch's own schema, so
       main must have none. This is the direct proof.

A branch that stops being usable
    Each runner thread looks the branch up once (:func:`thread_branch_api`). A branch merged,
    archived or deleted later makes NetBox refuse that thread's requests (400, never main);
    :meth:`BranchTarget.explain` turns that answer, and a device missing from the branch,
    into errors that name the branch.

    A sync through a branch therefore costs, per runner thread, the lookup, the probe and
    NetBox's version read through the new api (three requests, plus the create and the polls
    when the branch is new), and per host that wrote something, one request.

Dry runs
    A dry run writes nothing, so it never creates a branch: :func:`open_branch` reads from the
    branch when it exists and from main when it does not, and says which in
    :attr:`BranchTarget.diff_header`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pynetbox

from nornir_nb_ifsync.exceptions import (
    ConfigurationError,
    DeviceNotFoundError,
    IfSyncError,
    NetBoxError,
)
from nornir_nb_ifsync.netbox import _translated, make_session

logger = logging.getLogger(__name__)

#: The request header that selects a branch (the branch's schema id).
BRANCH_HEADER = "X-NetBox-Branch"
#: The plugin's REST endpoint of branches, relative to ``/api/``.
BRANCHES_PATH = "plugins/branching/branches/"
#: Longest branch name the plugin accepts.
NAME_MAX_LENGTH = 100
#: Seconds :func:`branch_api` waits for a branch to become ready.
DEFAULT_READY_TIMEOUT = 300.0
#: First pause between two polls of a branch's status, in seconds; it doubles up to the cap.
POLL_FIRST = 0.5
#: Longest pause between two polls, in seconds.
POLL_MAX = 5.0
#: A schema id no branch can have (the plugin's are 8 characters), for the probe.
PROBE_SCHEMA_ID = "nb-ifsync-probe"
#: Statuses a branch passes through on its way to (or back to) ``ready``.
TRANSITIONAL = frozenset({"new", "provisioning", "syncing", "migrating", "merging", "reverting"})
READY = "ready"
#: What the plugin answers (400) to a request whose header names a branch gone or not ready.
UNUSABLE_ANSWERS = ("Selected branch is not ready", "Invalid branch identifier")

_local = threading.local()
_creating: dict[tuple[str, str], threading.Lock] = {}
_creating_lock = threading.Lock()


@dataclass(frozen=True)
class Branch:
    """A branch as the plugin lists it.

    Attributes:
        id: The branch's object id.
        name: Its name.
        schema_id: The id requests name it by in :data:`BRANCH_HEADER`.
        status: Its status value, e.g. ``ready``.
    """

    id: int
    name: str
    schema_id: str
    status: str

    @classmethod
    def from_record(cls, record: Any) -> Branch:
        """Read a branch from a pynetbox record (or a plain mapping of its JSON).

        Args:
            record: The ``/api/plugins/branching/branches/`` item.

        Returns:
            The branch.
        """
        data: Mapping[str, Any] = record if isinstance(record, Mapping) else dict(record)
        status = data.get("status")
        value = status.get("value") if isinstance(status, Mapping) else status
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            schema_id=str(data.get("schema_id") or ""),
            status=str(value or ""),
        )


class BranchNotFoundError(NetBoxError):
    """The branch does not exist and was not to be created."""


def check_branch_name(name: str) -> str:
    """Check a branch name the way the plugin would, before anything is sent.

    Args:
        name: The branch name.

    Returns:
        The name.

    Raises:
        ValueError: It is empty, longer than :data:`NAME_MAX_LENGTH` or not printable.
    """
    if not name.strip() or len(name) > NAME_MAX_LENGTH or not name.isprintable():
        raise ValueError(
            f"branch: {name!r} is not a branch name (printable, 1 to {NAME_MAX_LENGTH} characters)"
        )
    return name


def unusable_reason(status: str) -> str | None:
    """Say why a branch in ``status`` can never be read or written, or None.

    Args:
        status: The branch's status value.

    Returns:
        None for ``ready`` and the transitional statuses (worth waiting for), else a reason.
    """
    if status == READY or status in TRANSITIONAL:
        return None
    if status == "failed":
        return "its provisioning (or last operation) failed; see the branch's job log in NetBox"
    if status in ("merged", "archived"):
        return f"it is {status}: choose a new branch name for new changes"
    if status == "pending-migrations":
        return "it needs database migrations before it can be used"
    return f"its status is {status!r}"


def poll_delays(first: float = POLL_FIRST, cap: float = POLL_MAX) -> Iterator[float]:
    """Yield the pauses between polls of a branch's status: doubling, then ``cap`` forever.

    Args:
        first: The first pause in seconds.
        cap: The longest pause in seconds.

    Yields:
        Pauses in seconds.
    """
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(delay * 2, cap)


def auth_header(token: str) -> str:
    """Return the ``Authorization`` value pynetbox sends for ``token``.

    Args:
        token: A classic token or a NetBox 4.5+ ``nbt_`` token.

    Returns:
        ``Bearer <token>`` for an ``nbt_`` token, ``Token <token>`` otherwise.
    """
    return f"Bearer {token}" if token.startswith("nbt_") else f"Token {token}"


def _url(api: Any) -> str:
    """The NetBox URL a ``pynetbox.api`` was made for (without ``/api``)."""
    return str(api.base_url).removesuffix("/api")


def _plugin_missing(api: Any, name: str, device: str) -> ConfigurationError:
    """The error for a 404 from the branches endpoint: the plugin is not installed."""
    return ConfigurationError(
        f"branch {name!r}: NetBox at {_url(api)} has no branching plugin "
        f"(GET /api/{BRANCHES_PATH} answered 404); install netboxlabs-netbox-branching "
        "or leave branch unset",
        device=device,
    )


def find_branch(api: Any, name: str, *, device: str = "") -> Branch | None:
    """Return the branch named ``name``, or None (one request).

    Args:
        api: A ``pynetbox.api`` of main.
        name: The branch name (exact, case-sensitive).
        device: Device name, for messages.

    Returns:
        The branch, or None when none has that name.

    Raises:
        ConfigurationError: NetBox has no branching plugin.
        NetBoxError: NetBox could not be read.
    """
    try:
        with _translated(f"branch {name!r}: looking it up", device):
            records = list(api.plugins.branching.branches.filter(name=name))
    except NetBoxError as exc:
        cause = exc.__cause__
        if isinstance(cause, pynetbox.RequestError) and exc.status == 404:
            raise _plugin_missing(api, name, device) from cause
        raise
    for record in records:
        branch = Branch.from_record(record)
        if branch.name == name:
            return branch
    return None


def create_branch(api: Any, name: str, *, device: str = "") -> Branch:
    """Create the branch ``name``; when another client just created it, return that one.

    Args:
        api: A ``pynetbox.api`` of main.
        name: The branch name.
        device: Device name, for messages.

    Returns:
        The new branch (status ``new`` until the plugin's job provisions it).

    Raises:
        NetBoxError: NetBox refused or could not be reached.
    """
    description = "nornir-nb-ifsync: interface changes for review"
    try:
        with _translated(f"branch {name!r}: creating it", device):
            record = api.plugins.branching.branches.create(name=name, description=description)
    except NetBoxError:
        existing = find_branch(api, name, device=device)
        if existing is None:
            raise
        return existing
    logger.info("created NetBox branch %r (schema %s)", name, record.schema_id)
    return Branch.from_record(record)


def wait_until_ready(
    api: Any,
    branch: Branch,
    *,
    timeout: float = DEFAULT_READY_TIMEOUT,
    device: str = "",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Branch:
    """Poll a branch (with backoff, :func:`poll_delays`) until its status is ``ready``.

    Args:
        api: A ``pynetbox.api`` of main.
        branch: The branch as last read.
        timeout: Seconds to wait at most.
        device: Device name, for messages.
        sleep: Pause function (for tests).
        clock: Monotonic clock (for tests).

    Returns:
        The ready branch.

    Raises:
        NetBoxError: The branch failed, was merged or archived, disappeared, or was not ready
            within ``timeout`` seconds; each message names the branch.
    """
    deadline = clock() + timeout
    delays = poll_delays(POLL_FIRST, POLL_MAX)
    while True:
        if branch.status == READY:
            return branch
        reason = unusable_reason(branch.status)
        if reason is not None:
            raise NetBoxError(f"branch {branch.name!r} cannot be used: {reason}", device=device)
        left = deadline - clock()
        if left <= 0:
            raise NetBoxError(
                f"branch {branch.name!r} was not ready after {timeout:.0f}s (status "
                f"{branch.status!r}); is a NetBox RQ worker (netbox rqworker) running?",
                device=device,
            )
        sleep(min(next(delays), left))
        with _translated(f"branch {branch.name!r}: reading its status", device):
            record = api.plugins.branching.branches.get(branch.id)
        if record is None:
            raise NetBoxError(f"branch {branch.name!r} was deleted while waiting", device=device)
        branch = Branch.from_record(record)


def check_header_honoured(api: Any, name: str, *, device: str = "") -> None:
    """Check that NetBox's branching plugin sees :data:`BRANCH_HEADER` sent through ``api``.

    One request through ``api``'s session whose header names :data:`PROBE_SCHEMA_ID`, which
    no branch can have: the plugin refuses it with 400 ("Invalid branch identifier").

    Args:
        api: The branch's ``pynetbox.api`` (from :func:`branch_api`).
        name: The branch name, for messages.
        device: Device name, for messages.

    Raises:
        NetBoxError: The header did not reach the plugin (anything but 400 came back).
    """
    headers = {
        BRANCH_HEADER: PROBE_SCHEMA_ID,
        "Accept": "application/json",
        "Authorization": auth_header(str(api.token)),
    }
    with _translated(f"branch {name!r}: checking that NetBox honours {BRANCH_HEADER}", device):
        reply = api.http_session.get(
            f"{api.base_url}/{BRANCHES_PATH}", params={"limit": 1, "brief": 1}, headers=headers
        )
    if reply.status_code != 400 or "branch" not in reply.text.lower():
        raise NetBoxError(
            f"branch {name!r}: NetBox did not act on the {BRANCH_HEADER} header (a request "
            f"naming no branch answered {reply.status_code}, not the plugin's 400); a proxy "
            "may drop it. Nothing was written",
            device=device,
            status=reply.status_code,
        )


def check_not_in_main(api: Any, name: str, device_id: int, message: str, *, device: str) -> None:
    """Check that main's change log has no change of ``device_id`` carrying ``message``.

    NetBox's ``q`` matches part of a message; only changes whose message is ``message``
    itself count (a run id that begins another run's id is not that run).

    Args:
        api: A ``pynetbox.api`` of main (without :data:`BRANCH_HEADER`).
        name: The branch name, for messages.
        device_id: The device whose interfaces were written.
        message: The change log message every write of the run carried.
        device: Device name, for messages.

    Raises:
        NetBoxError: Main has such changes (the writes landed in main), or could not be read.
    """
    with _translated(f"branch {name!r}: reading main's change log", device):
        changes = api.core.object_changes.filter(
            q=message, related_object_type="dcim.device", related_object_id=device_id
        )
        landed = sum(1 for change in changes if change.message == message)
    if landed:
        raise NetBoxError(
            f"branch {name!r}: {landed} change(s) of this run are in main's change log: the "
            f"writes landed in main, not in the branch ({BRANCH_HEADER} did not reach NetBox)",
            device=device,
        )


def _session_branch(api: Any) -> str | None:
    """The schema id a ``pynetbox.api``'s session sends in :data:`BRANCH_HEADER`, if any."""
    session = getattr(api, "http_session", None)
    value = session.headers.get(BRANCH_HEADER) if session is not None else None
    return str(value) if value else None


def _resolve(api: Any, name: str, create: bool, timeout: float, device: str) -> Branch:
    """Find (or create) the branch and wait until it is ready, one thread at a time per name."""
    key = (_url(api), name)
    with _creating_lock:
        lock = _creating.setdefault(key, threading.Lock())
    with lock:
        branch = find_branch(api, name, device=device)
        if branch is None:
            if not create:
                raise BranchNotFoundError(f"branch {name!r} does not exist", device=device)
            branch = create_branch(api, name, device=device)
        return wait_until_ready(api, branch, timeout=timeout, device=device)


def branch_api(
    api: Any,
    name: str,
    *,
    create: bool = True,
    timeout: float = DEFAULT_READY_TIMEOUT,
    device: str = "",
) -> Any:
    """Return a new ``pynetbox.api`` whose every request goes to the branch ``name``.

    Finds the branch, creates it when missing (unless ``create`` is False), waits until it is
    ready, builds an api for the same URL and token with its own session
    (:func:`~nornir_nb_ifsync.netbox.make_session`, with the TLS choice of ``api``'s session)
    sending :data:`BRANCH_HEADER`, and checks that NetBox honours that header
    (:func:`check_header_honoured`).

    Args:
        api: A ``pynetbox.api`` of main; it is not changed.
        name: The branch name.
        create: Create the branch when it does not exist.
        timeout: Seconds to wait for the branch to become ready.
        device: Device name, for messages.

    Returns:
        The branch's api.

    Raises:
        ConfigurationError: NetBox has no branching plugin, or ``api`` already sends a branch
            header (reads of main through it would read that branch).
        BranchNotFoundError: The branch does not exist and ``create`` is False.
        NetBoxError: The branch could not be created, failed, did not become ready in time,
            or NetBox ignores the header.
    """
    try:
        check_branch_name(name)
    except ValueError as exc:
        raise ConfigurationError(str(exc), device=device) from exc
    if _session_branch(api) is not None:
        raise ConfigurationError(
            f"branch {name!r}: the netbox api already sends {BRANCH_HEADER} (activate_branch?); "
            "pass an api of main and branch=",
            device=device,
        )
    branch = _resolve(api, name, create, timeout, device)
    scoped = pynetbox.api(_url(api), token=api.token)
    scoped.http_session = make_session(verify=api.http_session.verify)
    scoped.http_session.headers[BRANCH_HEADER] = branch.schema_id
    check_header_honoured(scoped, name, device=device)
    logger.debug("branch %r: schema %s, ready", name, branch.schema_id)
    return scoped


def thread_branch_api(
    api: Any,
    name: str,
    *,
    create: bool = True,
    timeout: float = DEFAULT_READY_TIMEOUT,
    device: str = "",
) -> Any:
    """Return this thread's :func:`branch_api` for ``api``'s NetBox and ``name``, made once.

    Nornir runs hosts in threads; each thread keeps one branch api (and session) per NetBox,
    token and branch, so the lookup and the probe are made once per thread, not per host. A
    branch merged or deleted after that is not looked up again: NetBox then refuses the
    thread's requests (400), which never fall back to main.

    Args:
        api: A ``pynetbox.api`` of main.
        name: The branch name.
        create: Create the branch when it does not exist.
        timeout: Seconds to wait for the branch to become ready.
        device: Device name, for messages.

    Returns:
        The branch's api.

    Raises:
        ConfigurationError: See :func:`branch_api`.
        NetBoxError: See :func:`branch_api`.
    """
    clients: dict[tuple[str, int, str, str], Any] = _local.__dict__.setdefault("clients", {})
    key = (_url(api), hash(api.token), repr(api.http_session.verify), name)
    if key not in clients:
        clients[key] = branch_api(api, name, create=create, timeout=timeout, device=device)
    return clients[key]


@dataclass(frozen=True)
class BranchTarget:
    """Where one host's sync reads and writes when a branch is asked for.

    Attributes:
        name: The branch name.
        main: The caller's api of main.
        api: The branch's api, or None when a dry run found no branch (it then reads main).
    """

    name: str
    main: Any
    api: Any | None

    @property
    def sync_api(self) -> Any:
        """The api the sync reads and writes through: the branch's, else main's."""
        return self.api if self.api is not None else self.main

    @property
    def reads_main(self) -> bool:
        """True when the branch does not exist and a dry run compares with main instead."""
        return self.api is None

    @property
    def diff_header(self) -> str:
        """First line of the host's diff: which branch was compared with, or that it was not."""
        if self.api is None:
            return (
                f"# branch {self.name}: does not exist; compared with main "
                "(a dry run creates no branch)"
            )
        return f"# branch {self.name} (schema {_session_branch(self.api)})"

    def check_not_in_main(self, device_id: int, message: str, device: str) -> None:
        """Check that no write of this run for ``device_id`` landed in main.

        Args:
            device_id: The device written.
            message: The run's change log message.
            device: Device name, for messages.

        Raises:
            NetBoxError: See :func:`check_not_in_main`.
        """
        if self.api is not None:
            check_not_in_main(self.main, self.name, device_id, message, device=device)

    def check_writes(
        self, device_id: int, message: str, device: str, error: IfSyncError | None = None
    ) -> IfSyncError | None:
        """Check that a host's writes (all, or those made before ``error``) are not in main.

        Args:
            device_id: The device written.
            message: The run's change log message.
            device: Device name, for messages.
            error: Why the host's writes stopped, if they did.

        Returns:
            ``error``, or the check's failure; both in one error when both happened (writes
            in main are the graver news, so they lead).
        """
        try:
            self.check_not_in_main(device_id, message, device)
        except IfSyncError as exc:
            if error is None:
                return exc
            return NetBoxError(f"{exc.message}; before that: {error.message}", device=device)
        return error

    def explain(self, error: IfSyncError) -> IfSyncError:
        """Say what the branch has to do with ``error``, when it has something to do with it.

        A device missing from the branch may have been added to main after the branch was
        made. A 400 naming no branch is NetBox refusing a branch merged, archived or deleted
        after this thread looked it up (:func:`thread_branch_api`). Other errors, and every
        error of a dry run that reads main, are returned as they are.
        """
        if self.api is None:
            return error
        if isinstance(error, DeviceNotFoundError):
            return DeviceNotFoundError(
                f"{error.message}, in branch {self.name!r} (a device added to main after the "
                "branch was created is in the branch only once the branch is synced with main)",
                device=error.device,
            )
        if (
            isinstance(error, NetBoxError)
            and error.status == 400
            and any(text in error.message for text in UNUSABLE_ANSWERS)
        ):
            return NetBoxError(
                f"branch {self.name!r} is no longer usable (merged, archived or deleted during "
                f"the run?): {error.message}",
                device=error.device,
                status=error.status,
            )
        return error


def open_branch(api: Any, name: str, *, dry_run: bool, device: str = "") -> BranchTarget:
    """Return where a host's sync reads and writes for the branch ``name``.

    A real run creates a missing branch; a dry run does not, and reads main instead.

    Args:
        api: A ``pynetbox.api`` of main.
        name: The branch name.
        dry_run: The sync writes nothing.
        device: Device name, for messages.

    Returns:
        The target.

    Raises:
        ConfigurationError: See :func:`branch_api`.
        NetBoxError: See :func:`branch_api`.
    """
    try:
        scoped = thread_branch_api(api, name, create=not dry_run, device=device)
    except BranchNotFoundError:
        logger.warning("%s: branch %r does not exist; the dry run compares with main", device, name)
        return BranchTarget(name=name, main=api, api=None)
    return BranchTarget(name=name, main=api, api=scoped)
