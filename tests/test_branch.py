"""The ``branch`` option: reads and writes go to a NetBox branch (netbox-branching plugin).

The unit tests run :mod:`nornir_nb_ifsync.branch` against a small in-memory branching plugin
over HTTP; the lab tests run the task against the lab's real NetBox, which has the plugin and
an RQ worker that provisions branches.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pynetbox
import pytest
from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from nornir_nb_ifsync import (
    ConfigurationError,
    DeviceNotFoundError,
    IfSyncError,
    NetBoxError,
    SyncReport,
    netbox_update_interfaces,
)
from nornir_nb_ifsync import branch as branchmod
from nornir_nb_ifsync.branch import (
    BRANCH_HEADER,
    Branch,
    BranchNotFoundError,
    BranchTarget,
    auth_header,
    branch_api,
    check_branch_name,
    check_not_in_main,
    find_branch,
    open_branch,
    poll_delays,
    unusable_reason,
    wait_until_ready,
)
from nornir_nb_ifsync.netbox import connect
from tests.lab.inventory import make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import (
    BRANCHING_QUEUE,
    BRANCHING_VERSION,
    PLUGINS,
    NetBoxLab,
    render_configuration,
)
from tests.lab.seed import create_device, create_interfaces

TOKEN = "0123456789abcdef0123456789abcdef01234567"
INSTALL_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "install-lab.sh"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


# --------------------------------------------------------------------------- pure parts


def test_branch_from_record_reads_the_status_value() -> None:
    record = {
        "id": 3,
        "name": "review",
        "schema_id": "abcd1234",
        "status": {"value": "provisioning", "label": "Provisioning"},
    }

    branch = Branch.from_record(record)

    assert branch == Branch(id=3, name="review", schema_id="abcd1234", status="provisioning")


@pytest.mark.parametrize("status", ["ready", "new", "provisioning", "syncing", "merging"])
def test_unusable_reason_is_none_for_ready_and_transitional_statuses(status: str) -> None:
    assert unusable_reason(status) is None


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("failed", "failed"),
        ("merged", "choose a new branch name"),
        ("archived", "archived"),
        ("pending-migrations", "migrations"),
        ("weird", "'weird'"),
    ],
)
def test_unusable_reason_explains_a_dead_branch(status: str, words: str) -> None:
    reason = unusable_reason(status)

    assert reason is not None
    assert words in reason


def test_poll_delays_double_up_to_the_cap() -> None:
    delays = poll_delays(first=0.5, cap=5.0)

    assert [next(delays) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_check_branch_name_refuses_what_the_plugin_would(name: str) -> None:
    with pytest.raises(ValueError, match="branch"):
        check_branch_name(name)


def test_check_branch_name_accepts_a_name() -> None:
    assert check_branch_name("ifsync review 2024-06") == "ifsync review 2024-06"


def test_auth_header_matches_the_token_kind() -> None:
    assert auth_header(TOKEN) == f"Token {TOKEN}"
    assert auth_header("nbt_abc.secret") == "Bearer nbt_abc.secret"


class StatusApi:
    """Just enough of a pynetbox api for :func:`wait_until_ready`: a branch whose status
    follows a script, one entry per read."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.reads = 0
        self.plugins = self
        self.branching = self
        self.branches = self

    def get(self, branch_id: int) -> dict[str, Any]:
        status = self.statuses[min(self.reads, len(self.statuses) - 1)]
        self.reads += 1
        return {"id": branch_id, "name": "review", "schema_id": "abcd1234", "status": status}


class FakeClock:
    """A monotonic clock that only moves when :meth:`sleep` is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_ready_polls_with_backoff_until_ready() -> None:
    api = StatusApi(["provisioning", "provisioning", "ready"])
    clock = FakeClock()

    ready = wait_until_ready(
        api, Branch(1, "review", "abcd1234", "new"), sleep=clock.sleep, clock=clock
    )

    assert ready.status == "ready"
    assert api.reads == 3
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_wait_until_ready_fails_on_a_failed_branch_naming_it() -> None:
    api = StatusApi(["provisioning", "failed"])
    clock = FakeClock()

    with pytest.raises(NetBoxError, match=r"branch 'review' cannot be used: its provisioning"):
        wait_until_ready(
            api, Branch(1, "review", "abcd1234", "new"), sleep=clock.sleep, clock=clock
        )

    assert api.reads == 2


def test_wait_until_ready_gives_up_at_the_timeout_naming_the_branch() -> None:
    api = StatusApi(["provisioning"])
    clock = FakeClock()

    with pytest.raises(NetBoxError, match=r"branch 'review' was not ready after 12s.*rqworker"):
        wait_until_ready(
            api,
            Branch(1, "review", "abcd1234", "new"),
            timeout=12.0,
            sleep=clock.sleep,
            clock=clock,
        )

    assert sum(clock.sleeps) == pytest.approx(12.0)
    assert max(clock.sleeps) <= 5.0


def test_install_script_pins_the_same_branching_plugin() -> None:
    text = INSTALL_SCRIPT.read_text()

    assert f'BRANCHING_VERSION="${{BRANCHING_VERSION:-{BRANCHING_VERSION}}}"' in text
    assert '"netboxlabs-netbox-branching==$BRANCHING_VERSION"' in text


def test_lab_configuration_enables_the_branching_plugin() -> None:
    source = render_configuration(database="nbifsync_run_x", pg_port=5432, redis_port=6390)
    namespace: dict[str, Any] = {}
    exec(compile(source, "configuration.py", "exec"), namespace)  # noqa: S102

    assert namespace["PLUGINS"] == PLUGINS == ["netbox_branching"]
    assert namespace["DATABASE_ROUTERS"] == ["netbox_branching.database.BranchAwareRouter"]
    assert "DATABASES = DynamicSchemaDict(DATABASES)" in source
    assert namespace["QUEUE_MAPPINGS"] == {"branch": BRANCHING_QUEUE}


# --------------------------------------------------------------------------- a tiny plugin


class FakeBranching:
    """An in-memory branching plugin: list by name, create, read by id, and the header check.

    A new branch reads ``new``, then ``provisioning``, then ``ready`` on later reads. With
    ``plugin=False`` every path answers 404; with ``honour_header=False`` the header is ignored
    (as behind a proxy that drops it).
    """

    def __init__(self, *, plugin: bool = True, honour_header: bool = True) -> None:
        self.plugin = plugin
        self.honour_header = honour_header
        self.branches: dict[int, dict[str, Any]] = {}
        self.reads: dict[int, int] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, name: str, status: str = "ready") -> dict[str, Any]:
        branch_id = len(self.branches) + 1
        branch = {
            "id": branch_id,
            "name": name,
            "schema_id": f"sch{branch_id:05d}",
            "status": {"value": status, "label": status.title()},
        }
        self.branches[branch_id] = branch
        return branch

    def _current(self, branch: dict[str, Any]) -> dict[str, Any]:
        reads = self.reads.get(branch["id"], 0)
        self.reads[branch["id"]] = reads + 1
        if branch["status"]["value"] in ("new", "provisioning"):
            status = ["new", "provisioning", "ready"][min(reads, 2)]
            branch["status"] = {"value": status, "label": status.title()}
        return branch

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], header: str | None, body: Any
    ) -> tuple[int, Any]:
        if not self.plugin or not path.startswith("/api/plugins/branching/branches/"):
            return 404, {"detail": "Not found."}
        schemas = {b["schema_id"] for b in self.branches.values()}
        if self.honour_header and header is not None and header not in schemas:
            return 400, "Invalid branch identifier"
        tail = path.removeprefix("/api/plugins/branching/branches/").strip("/")
        if method == "POST":
            if any(b["name"] == body["name"] for b in self.branches.values()):
                return 400, {"name": ["branch with this name already exists."]}
            return 201, self.add(body["name"], status="new")
        if tail:
            branch = self.branches.get(int(tail))
            return (200, self._current(branch)) if branch else (404, {"detail": "Not found."})
        names = query.get("name")
        found = [b for b in self.branches.values() if names is None or b["name"] in names]
        return 200, {"count": len(found), "next": None, "previous": None, "results": found}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                header = self.headers.get(BRANCH_HEADER)
                with fake.lock:
                    fake.requests.append((self.command, parts.path, header))
                    status, payload = fake._answer(
                        self.command, parts.path, parse_qs(parts.query), header, body
                    )
                text = payload if isinstance(payload, str) else json.dumps(payload)
                data = text.encode()
                self.send_response(status)
                kind = "text/plain" if isinstance(payload, str) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

        return Handler

    def __enter__(self) -> FakeBranching:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(branchmod, "POLL_FIRST", 0.01)
    monkeypatch.setattr(branchmod, "POLL_MAX", 0.02)


@pytest.fixture
def plugin(fast_polls: None) -> Iterator[FakeBranching]:
    with FakeBranching() as fake:
        yield fake


def test_branch_api_creates_waits_and_scopes_its_own_session(plugin: FakeBranching) -> None:
    main = connect(plugin.url, TOKEN)

    scoped = branch_api(main, "review")

    created = [r for r in plugin.requests if r[0] == "POST"]
    assert [b["name"] for b in plugin.branches.values()] == ["review"]
    assert plugin.branches[1]["status"]["value"] == "ready"
    assert len(created) == 1
    assert scoped is not main
    assert scoped.http_session is not main.http_session
    assert scoped.http_session.headers[BRANCH_HEADER] == "sch00001"
    assert BRANCH_HEADER not in main.http_session.headers
    assert scoped.token == TOKEN
    assert scoped.base_url == main.base_url


def test_branch_api_reuses_a_ready_branch_without_creating(plugin: FakeBranching) -> None:
    plugin.add("review")

    scoped = branch_api(connect(plugin.url, TOKEN), "review", create=False)

    assert scoped.http_session.headers[BRANCH_HEADER] == "sch00001"
    assert [r[0] for r in plugin.requests] == ["GET", "GET"]
    assert plugin.requests[1][2] == branchmod.PROBE_SCHEMA_ID


def test_branch_api_without_create_says_the_branch_is_missing(plugin: FakeBranching) -> None:
    with pytest.raises(BranchNotFoundError, match="branch 'review' does not exist"):
        branch_api(connect(plugin.url, TOKEN), "review", create=False)

    assert not plugin.branches


def test_branch_api_without_the_plugin_is_a_configuration_error(fast_polls: None) -> None:
    with (
        FakeBranching(plugin=False) as fake,
        pytest.raises(ConfigurationError, match="no branching plugin") as error,
    ):
        branch_api(connect(fake.url, TOKEN), "review", device="r1")

    assert str(error.value).startswith("r1: branch 'review'")


def test_branch_api_stops_when_netbox_ignores_the_header(fast_polls: None) -> None:
    with FakeBranching(honour_header=False) as fake:
        fake.add("review")
        with pytest.raises(NetBoxError, match="did not act on the X-NetBox-Branch header"):
            branch_api(connect(fake.url, TOKEN), "review")

    assert [r[0] for r in fake.requests] == ["GET", "GET"]


def test_branch_api_refuses_an_api_that_already_sends_a_branch(plugin: FakeBranching) -> None:
    main = connect(plugin.url, TOKEN)
    main.http_session.headers[BRANCH_HEADER] = "sch00009"

    with pytest.raises(ConfigurationError, match="activate_branch"):
        branch_api(main, "review")

    assert plugin.requests == []


def test_branch_api_fails_on_a_merged_branch_naming_it(plugin: FakeBranching) -> None:
    plugin.add("review", status="merged")

    with pytest.raises(NetBoxError, match="branch 'review' cannot be used: it is merged"):
        branch_api(connect(plugin.url, TOKEN), "review")


def test_branch_api_creates_one_branch_for_many_threads(plugin: FakeBranching) -> None:
    results: list[str] = []

    def scope() -> None:
        api = branch_api(connect(plugin.url, TOKEN), "review")
        results.append(api.http_session.headers[BRANCH_HEADER])

    threads = [threading.Thread(target=scope) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["sch00001"] * 4
    assert len(plugin.branches) == 1


def test_open_branch_dry_run_reads_main_when_the_branch_is_missing(plugin: FakeBranching) -> None:
    main = connect(plugin.url, TOKEN)

    target = open_branch(main, "review-dry", dry_run=True, device="r1")

    assert target.reads_main
    assert target.sync_api is main
    assert target.diff_header == (
        "# branch review-dry: does not exist; compared with main (a dry run creates no branch)"
    )
    assert not plugin.branches


def test_task_with_branch_and_no_plugin_fails_before_reading_the_device(
    fast_polls: None, tmp_path: Path
) -> None:
    path = write_mock_replies(tmp_path / "r1", {"get_interfaces": {"Eth1": _port()}})
    nr = make_nornir([mock_host("r1", 7, path)])

    with FakeBranching(plugin=False) as fake:
        result = nr.run(
            task=netbox_update_interfaces, netbox=connect(fake.url, TOKEN), branch="review"
        )["r1"]

    assert result.failed
    assert isinstance(result.exception, ConfigurationError)
    assert "no branching plugin" in str(result.exception)
    assert [r.name for r in result] == ["netbox_update_interfaces"]
    assert [r[1] for r in fake.requests] == ["/api/plugins/branching/branches/"]


class _MainCheck:
    """The ``main`` api of a branch target: its change log holds ``landed`` changes of the run."""

    def __init__(self, landed: int) -> None:
        self.landed = landed
        self.queries: list[dict[str, Any]] = []
        self.core = self
        self.object_changes = self

    def filter(self, **query: Any) -> list[Any]:
        self.queries.append(query)
        run = SimpleNamespace(message=query["q"])
        longer = SimpleNamespace(message=f"{query['q']}0")
        return [run] * self.landed + [longer]


def _target(landed: int = 0) -> BranchTarget:
    return BranchTarget(name="review", main=_MainCheck(landed), api=object())


def test_check_writes_reports_writes_in_main_ahead_of_the_write_error() -> None:
    failed = NetBoxError("creating interfaces: gave up; not written: Eth2", device="r1")

    error = _target(landed=2).check_writes(7, "nornir-nb-ifsync run run1", "r1", failed)

    assert isinstance(error, NetBoxError)
    assert str(error).startswith("r1: branch 'review': 2 change(s) of this run are in main's")
    assert str(error).endswith("; before that: creating interfaces: gave up; not written: Eth2")


def test_check_writes_keeps_the_write_error_when_main_is_clean() -> None:
    failed = NetBoxError("creating interfaces: gave up", device="r1")
    target = _target()

    assert target.check_writes(7, "nornir-nb-ifsync run run1", "r1", failed) is failed
    assert target.check_writes(7, "nornir-nb-ifsync run run1", "r1") is None
    assert (
        cast(_MainCheck, target.main).queries
        == [
            {
                "q": "nornir-nb-ifsync run run1",
                "related_object_type": "dcim.device",
                "related_object_id": 7,
            }
        ]
        * 2
    )


def test_explain_names_a_branch_that_became_unusable() -> None:
    gone = NetBoxError(
        "reading interfaces: HTTP 400: Invalid branch identifier", device="r1", status=400
    )

    error = _target().explain(gone)

    assert isinstance(error, NetBoxError)
    assert error.status == 400
    assert str(error) == (
        "r1: branch 'review' is no longer usable (merged, archived or deleted during the run?): "
        "reading interfaces: HTTP 400: Invalid branch identifier"
    )


def test_explain_says_a_missing_device_may_be_newer_than_the_branch() -> None:
    missing = DeviceNotFoundError("no NetBox device has id 7", device="r1")

    error = _target().explain(missing)

    assert isinstance(error, DeviceNotFoundError)
    assert str(error).startswith("r1: no NetBox device has id 7, in branch 'review' (a device")


@pytest.mark.parametrize(
    ("error", "reads_main"),
    [
        (NetBoxError("HTTP 400: name: bad", device="r1", status=400), False),
        (NetBoxError("HTTP 503: Invalid branch identifier", device="r1", status=503), False),
        (NetBoxError("HTTP 400: Invalid branch identifier", device="r1", status=400), True),
        (DeviceNotFoundError("no NetBox device has id 7", device="r1"), True),
    ],
)
def test_explain_leaves_other_errors_alone(error: IfSyncError, reads_main: bool) -> None:
    target = BranchTarget(name="review", main=object(), api=None if reads_main else object())

    assert target.explain(error) is error


def test_find_branch_matches_the_exact_name(plugin: FakeBranching) -> None:
    plugin.add("review")

    found = find_branch(connect(plugin.url, TOKEN), "review")

    assert found == Branch(1, "review", "sch00001", "ready")
    assert find_branch(connect(plugin.url, TOKEN), "Review") is None


# --------------------------------------------------------------------------- against the lab


def _port(description: str = "") -> dict[str, Any]:
    return {
        "is_up": True,
        "is_enabled": True,
        "description": description,
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "",
    }


def _eth1(description: str) -> dict[str, Any]:
    """Eth1 as :func:`_port` reports it, but for its description."""
    return {
        "name": "Eth1",
        "type": "1000base-t",
        "description": description,
        "mtu": 1500,
        "speed": 1000000,
    }


def _paths(requests: list[str]) -> list[str]:
    """Request lines without their query strings."""
    return [line.split("?", 1)[0] for line in requests]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class BranchLab:
    """Devices of the test in the lab NetBox, their mock-driver hosts, and branch reads."""

    def __init__(self, netbox_lab: NetBoxLab, tmp_path: Path) -> None:
        self.netbox_lab = netbox_lab
        self.api = connect(netbox_lab.url, netbox_lab.token_v1)
        self.tmp_path = tmp_path

    def device(self, name: str, interfaces: list[dict[str, Any]]) -> int:
        device_id = create_device(self.api, name, "mock")
        create_interfaces(self.api, device_id, interfaces)
        return device_id

    def run(self, devices: dict[str, int], reply: dict[str, Any], **options: Any) -> dict[str, Any]:
        path = write_mock_replies(self.tmp_path / uuid.uuid4().hex, {"get_interfaces": reply})
        hosts = [mock_host(name, device_id, path) for name, device_id in devices.items()]
        nr = make_nornir(hosts)
        result = nr.run(task=netbox_update_interfaces, netbox=self.api, **options)
        return {name: result[name] for name in devices}

    def in_branch(self, name: str) -> Any:
        branch = find_branch(self.api, name)
        assert branch is not None
        api = pynetbox.api(self.netbox_lab.url, token=self.netbox_lab.token_v1)
        api.http_session.headers[BRANCH_HEADER] = branch.schema_id
        return api

    @staticmethod
    def interfaces(api: Any, device_id: int) -> dict[str, tuple[str, str]]:
        return {
            str(r.name): (str(r.type.value), str(r.description))
            for r in api.dcim.interfaces.filter(device_id=device_id, limit=0)
        }

    @staticmethod
    def interface_changes(api: Any, device_id: int) -> list[str]:
        return [
            str(c.message)
            for c in api.core.object_changes.filter(
                changed_object_type="dcim.interface", related_object_id=device_id, limit=0
            )
        ]

    @contextmanager
    def requests_seen(self) -> Iterator[list[str]]:
        """Collect the request lines the lab NetBox logs while the block runs."""
        log = self.netbox_lab.access_log
        _wait_until_log_settles(log)  # lines of the requests before the block are in
        start = log.stat().st_size
        seen: list[str] = []
        try:
            yield seen
        finally:
            _wait_until_log_settles(log)
            with log.open("rb") as handle:
                handle.seek(start)
                text = handle.read().decode(errors="replace")
            seen.extend(re.findall(r'"([A-Z]+ \S+)', text))


def _wait_until_log_settles(log: Path, quiet: float = 0.5, limit: float = 5.0) -> None:
    """Wait until gunicorn's workers have flushed their access-log lines (bounded)."""
    deadline = time.monotonic() + limit
    size = log.stat().st_size
    while time.monotonic() < deadline:
        time.sleep(quiet)
        grown = log.stat().st_size
        if grown == size:
            return
        size = grown


@pytest.fixture
def lab(netbox_lab: NetBoxLab, tmp_path: Path) -> BranchLab:
    return BranchLab(netbox_lab, tmp_path)


@pytest.mark.lab
def test_sync_with_branch_writes_only_into_the_branch_and_reuses_it(lab: BranchLab) -> None:
    name = _unique("br-review")
    device_id = lab.device(name, [_eth1("old")])
    reply = {"Eth1": _port("new"), "Eth2": _port("added")}
    main_before = lab.interfaces(lab.api, device_id)
    main_changes_before = lab.interface_changes(lab.api, device_id)
    assert find_branch(lab.api, "ifsync-review") is None

    with lab.requests_seen() as first_requests:
        first = lab.run({name: device_id}, reply, branch="ifsync-review", run_id="brrun1")[name]
    created = find_branch(lab.api, "ifsync-review")
    with lab.requests_seen() as second_requests:
        second = lab.run({name: device_id}, reply, branch="ifsync-review", run_id="brrun2")[name]
    branch_api_ = lab.in_branch("ifsync-review")

    report: SyncReport = first.result
    assert not first.failed, first.exception
    assert report.branch == "ifsync-review"
    assert [c.name for c in report.created] == ["Eth2"]
    assert [u.name for u in report.updated] == ["Eth1"]
    assert first.diff.splitlines()[0].startswith("# branch ifsync-review (schema ")
    assert created is not None
    assert created.status == "ready"
    assert lab.interfaces(lab.api, device_id) == main_before
    assert lab.interface_changes(lab.api, device_id) == main_changes_before
    assert lab.interfaces(branch_api_, device_id) == {
        "Eth1": ("1000base-t", "new"),
        "Eth2": ("1000base-t", "added"),
    }
    assert set(lab.interface_changes(branch_api_, device_id)) == {"nornir-nb-ifsync run brrun1"}
    assert not second.failed, second.exception
    assert second.changed is False
    assert second.result.unchanged == ("Eth1", "Eth2")
    assert not [r for r in second_requests if r.startswith(WRITE_METHODS)]
    assert sorted(_paths(second_requests)) == [
        "GET /api/",
        "GET /api/dcim/interfaces/",
        "GET /api/plugins/branching/branches/",
        "GET /api/plugins/branching/branches/",
    ]
    assert _paths(first_requests).count("GET /api/core/object-changes/") == 1
    assert _paths(first_requests).count("POST /api/plugins/branching/branches/") == 1
    assert find_branch(lab.api, "ifsync-review") == created
    assert len(list(lab.api.plugins.branching.branches.filter(name="ifsync-review"))) == 1


@pytest.mark.lab
def test_sync_with_branch_creates_one_branch_for_hosts_in_threads(lab: BranchLab) -> None:
    branch = _unique("br-threads")
    devices = {
        name: lab.device(name, [{"name": "Eth1", "type": "1000base-t"}])
        for name in (_unique("br-t1"), _unique("br-t2"), _unique("br-t3"))
    }

    results = lab.run(devices, {"Eth1": _port("x"), "Eth7": _port()}, branch=branch)
    in_branch = lab.in_branch(branch)

    assert all(not r.failed for r in results.values()), {n: r.exception for n, r in results.items()}
    assert len(list(lab.api.plugins.branching.branches.filter(name=branch))) == 1
    for device_id in devices.values():
        assert set(lab.interfaces(in_branch, device_id)) == {"Eth1", "Eth7"}
        assert set(lab.interfaces(lab.api, device_id)) == {"Eth1"}


@pytest.mark.lab
def test_device_added_to_main_after_the_branch_is_reported_with_the_branch(
    lab: BranchLab,
) -> None:
    branch = _unique("br-later")
    first = _unique("br-early")
    lab.run({first: lab.device(first, [])}, {"Eth1": _port()}, branch=branch)
    late = _unique("br-late")
    late_id = lab.device(late, [])

    result = lab.run({late: late_id}, {"Eth1": _port()}, branch=branch, on_failed=True)[late]

    assert result.failed
    assert isinstance(result.exception, DeviceNotFoundError)
    message = str(result.exception)
    assert message.startswith(f"{late}: ")
    assert f"in branch {branch!r}" in message
    assert "synced with main" in message
    assert lab.interfaces(lab.api, late_id) == {}


class _DeleteBranchAfterFirstHost:
    """A Nornir processor that deletes a branch once the first host's sync has ended."""

    def __init__(self, api: Any, name: str) -> None:
        self.api = api
        self.name = name
        self.deleted = False

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if task.name == "netbox_update_interfaces" and not self.deleted:
            branch = find_branch(self.api, self.name)
            assert branch is not None
            self.api.plugins.branching.branches.get(branch.id).delete()
            self.deleted = True

    def task_started(self, task: Task) -> None: ...
    def task_completed(self, task: Task, result: AggregatedResult) -> None: ...
    def task_instance_started(self, task: Task, host: Host) -> None: ...
    def subtask_instance_started(self, task: Task, host: Host) -> None: ...
    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None: ...


@pytest.mark.lab
def test_branch_deleted_during_a_run_fails_the_later_hosts_naming_it(lab: BranchLab) -> None:
    branch = _unique("br-gone")
    first, second = _unique("br-g1"), _unique("br-g2")
    devices = {first: lab.device(first, []), second: lab.device(second, [])}
    path = write_mock_replies(lab.tmp_path / "gone", {"get_interfaces": {"Eth1": _port()}})
    hosts = [mock_host(name, device_id, path) for name, device_id in devices.items()]
    nr = make_nornir(hosts, num_workers=1)  # one thread: the second host reuses its branch api

    result = nr.with_processors([_DeleteBranchAfterFirstHost(lab.api, branch)]).run(
        task=netbox_update_interfaces, netbox=lab.api, branch=branch, on_failed=True
    )

    assert not result[first].failed, result[first].exception
    assert result[second].failed
    message = str(result[second].exception)
    assert message.startswith(f"{second}: branch {branch!r} is no longer usable")
    assert "HTTP 400" in message
    assert find_branch(lab.api, branch) is None
    assert lab.interfaces(lab.api, devices[second]) == {}


@pytest.mark.lab
def test_dry_run_with_a_missing_branch_writes_nothing_anywhere(lab: BranchLab) -> None:
    name = _unique("br-dry")
    branch = _unique("br-dry-missing")
    device_id = lab.device(name, [_eth1("old")])
    branches_before = lab.api.plugins.branching.branches.count()

    with lab.requests_seen() as seen:
        result = lab.run({name: device_id}, {"Eth1": _port("new")}, branch=branch, dry_run=True)[
            name
        ]

    assert not result.failed, result.exception
    assert result.result.dry_run is True
    assert result.result.branch == branch
    assert result.diff.splitlines() == [
        f"# branch {branch}: does not exist; compared with main (a dry run creates no branch)",
        '~ Eth1  description: "old" → "new"',
    ]
    assert seen
    assert not [r for r in seen if r.startswith(WRITE_METHODS)]
    assert find_branch(lab.api, branch) is None
    assert lab.api.plugins.branching.branches.count() == branches_before
    assert lab.interfaces(lab.api, device_id) == {"Eth1": ("1000base-t", "old")}


@pytest.mark.lab
def test_dry_run_with_an_existing_branch_compares_with_the_branch(lab: BranchLab) -> None:
    name = _unique("br-dry-existing")
    branch = _unique("br-existing")
    device_id = lab.device(name, [_eth1("old")])
    written = lab.run({name: device_id}, {"Eth1": _port("in-branch")}, branch=branch)[name]

    with lab.requests_seen() as seen:
        dry = lab.run({name: device_id}, {"Eth1": _port("newer")}, branch=branch, dry_run=True)[
            name
        ]

    assert not written.failed, written.exception
    assert not dry.failed, dry.exception
    assert dry.diff.splitlines()[1:] == ['~ Eth1  description: "in-branch" → "newer"']
    assert dry.diff.splitlines()[0].startswith(f"# branch {branch} (schema ")
    assert not [r for r in seen if r.startswith(WRITE_METHODS)]
    assert lab.interfaces(lab.in_branch(branch), device_id) == {"Eth1": ("1000base-t", "in-branch")}
    assert lab.interfaces(lab.api, device_id) == {"Eth1": ("1000base-t", "old")}


@pytest.mark.lab
def test_check_not_in_main_catches_a_write_that_landed_in_main(lab: BranchLab) -> None:
    name = _unique("br-landed")
    device_id = lab.device(name, [])
    message = f"nornir-nb-ifsync run {_unique('landed')}"
    lab.api.dcim.interfaces.create(
        [{"device": device_id, "name": "Eth1", "type": "1000base-t", "changelog_message": message}]
    )

    with pytest.raises(NetBoxError, match=r"branch 'b1': 1 change\(s\) of this run are in main"):
        check_not_in_main(lab.api, "b1", device_id, message, device=name)

    check_not_in_main(lab.api, "b1", device_id + 1, message, device=name)
    check_not_in_main(lab.api, "b1", device_id, message + "x", device=name)
    assert lab.interface_changes(lab.api, device_id) == [message]


@pytest.mark.lab
def test_branch_option_with_an_invalid_name_fails_before_netbox(lab: BranchLab) -> None:
    name = _unique("br-invalid")
    device_id = lab.device(name, [])

    with lab.requests_seen() as seen:
        result = lab.run({name: device_id}, {"Eth1": _port()}, branch=" ")[name]

    assert result.failed
    assert isinstance(result.exception, ConfigurationError)
    assert "is not a branch name" in str(result.exception)
    assert seen == []
