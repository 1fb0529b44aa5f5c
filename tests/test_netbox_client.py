"""The NetBox client under faults: what is retried, what is settled by reading back, TLS.

The unit tests run the client against a small in-memory NetBox (interfaces only) behind the
fault proxy, with faults forced one by one. The lab tests put a TLS-terminating proxy with a
self-signed certificate in front of the lab NetBox and run the real task through it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pynetbox
import pytest
import urllib3

from nornir_nb_ifsync import netbox as nbmod
from nornir_nb_ifsync import netbox_update_interfaces
from nornir_nb_ifsync.exceptions import ConfigurationError, NetBoxError, WriteError
from nornir_nb_ifsync.models import BulkOutcome, Refusal
from nornir_nb_ifsync.netbox import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    RETRY_AFTER_MAX,
    WRITE_ROUNDS,
    CappedRetry,
    NetBox,
    connect,
    redact,
    request_worst_case,
    thread_client,
    worst_case_seconds,
)
from tests.lab.faultproxy import FaultProxy, FaultRates, TlsFiles, self_signed
from tests.lab.inventory import make_nornir, mock_host, write_mock_replies
from tests.lab.netbox_server import NetBoxLab
from tests.lab.seed import create_device

TOKEN = "0123456789abcdef0123456789abcdef01234567"
DEVICE_ID = 7
FAST = (0.5, 1.0)


# --------------------------------------------------------------------------- a tiny NetBox


class FakeNetBox:
    """An in-memory NetBox that knows interfaces: list, bulk create, update and delete.

    Names are unique per device, as in NetBox; a bulk request is applied all or nothing.
    ``hide_next_create`` makes the next create invisible to reads until another create
    arrives, like a transaction that commits after the client gave up on it.
    ``next_post_answer`` answers the next POST with (status, body, headers) without applying
    it; ``next_post_commit_answer`` applies it, then answers so (NetBox failing after its
    commit). It also knows tags (``/api/extras/tags/``); ``tag_created_meanwhile`` makes the
    next tag look-up miss a tag that exists, as when another host creates it at that moment.
    """

    def __init__(self) -> None:
        self.interfaces: dict[int, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.hide_next_create = False
        self.duplicate_status = 400
        self.next_post_answer: tuple[int, object, dict[str, str]] | None = None
        self.next_post_commit_answer: tuple[int, object] | None = None
        self.tags: dict[str, dict[str, Any]] = {}
        self.tag_created_meanwhile = False
        self.reply_headers: dict[str, str] = {}
        self._hidden: set[int] = set()
        self.lock = threading.Lock()
        self._next_id = 1
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def names(self) -> list[str]:
        """Every interface name, in id order (duplicates would show twice)."""
        with self.lock:
            return [i["name"] for _, i in sorted(self.interfaces.items())]

    def add(self, name: str, **values: Any) -> int:
        """Create an interface directly; return its id."""
        with self.lock:
            return self._create({"device": DEVICE_ID, "name": name, **values})

    def _create(self, item: dict[str, Any]) -> int:
        record = {
            "id": self._next_id,
            "device": {"id": item["device"]},
            "name": item["name"],
            "type": {"value": item.get("type", "other")},
            "enabled": item.get("enabled", True),
            "description": item.get("description", ""),
            "mtu": item.get("mtu"),
            "speed": item.get("speed"),
            "mac_address": item.get("mac_address"),
            "parent": None,
            "lag": None,
            "bridge": None,
            "mgmt_only": False,
            "mark_connected": False,
            "cable": None,
            "module": None,
            "count_ipaddresses": 0,
            "tags": [],
        }
        self.interfaces[self._next_id] = record
        self._next_id += 1
        return int(record["id"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _reply(self, status: int, body: object = None) -> None:
                html = isinstance(body, str)
                data = b"" if body is None else (str(body) if html else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("API-Version", "4.7")
                self.send_header("Content-Type", "text/html" if html else "application/json")
                self.send_header("Content-Length", str(len(data)))
                for header, value in fake.reply_headers.items():
                    self.send_header(header, value)
                fake.reply_headers = {}
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length)) if length else None

            def _handle(self) -> None:
                body = self._body()
                parts = urlsplit(self.path)
                with fake.lock:
                    fake.requests[self.command] += 1
                    status, answer = fake.answer(
                        self.command, parts.path, parse_qs(parts.query), body
                    )
                self._reply(status, answer)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        return Handler

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, object]:
        """Answer one request (called with the lock held)."""
        if not path.startswith("/api/"):
            return 404, "<!DOCTYPE html>\n<html lang='en'><body>Page Not Found</body></html>"
        if path in ("/api/", "/api/status/"):
            return 200, {"netbox-version": "4.7.3"}
        if path == "/api/extras/tags/":
            return self._answer_tags(method, query, body)
        if path != "/api/dcim/interfaces/":
            return 404, {"detail": "Not found."}
        if method == "GET":
            found = [i for i in self.interfaces.values() if i["id"] not in self._hidden]
            if "device_id" in query:
                found = [i for i in found if str(i["device"]["id"]) in query["device_id"]]
            if "id" in query:
                found = [i for i in found if str(i["id"]) in query["id"]]
            return 200, {"count": len(found), "next": None, "previous": None, "results": found}
        if method == "POST" and self.next_post_answer is not None:
            status, answer, self.reply_headers = self.next_post_answer
            self.next_post_answer = None
            return status, answer
        if method == "POST" and self.next_post_commit_answer is not None:
            created = [self._create(item) for item in body]
            answer = self.next_post_commit_answer
            self.next_post_commit_answer = None
            return answer
        if method == "POST":
            self._hidden.clear()
            taken = {(i["device"]["id"], i["name"]) for i in self.interfaces.values()}
            errors = [
                {"index": n, "errors": {"name": ["Interface with this name already exists."]}}
                for n, item in enumerate(body)
                if (item["device"], item["name"]) in taken
            ]
            if errors and self.duplicate_status != 400:
                return self.duplicate_status, {
                    "error": "duplicate key",
                    "exception": "IntegrityError",
                }
            if errors:
                return 400, {"detail": "refused", "errors": errors}
            created = [self._create(item) for item in body]
            if self.hide_next_create:
                self._hidden.update(created)
                self.hide_next_create = False
            return 201, [self.interfaces[i] for i in created]
        if method == "PATCH":
            missing = [{"id": i["id"], "errors": {"id": ["no"]}} for i in body]
            missing = [m for m in missing if m["id"] not in self.interfaces]
            if missing:
                return 400, {"detail": "refused", "errors": missing}
            for item in body:
                record = self.interfaces[item["id"]]
                record.update(
                    {k: v for k, v in item.items() if k not in ("id", "changelog_message")}
                )
            return 200, [self.interfaces[i["id"]] for i in body]
        if method == "DELETE":
            missing = [
                {"id": i["id"], "errors": {"id": [f"Object with ID {i['id']} does not exist"]}}
                for i in body
                if i["id"] not in self.interfaces
            ]
            if missing:
                return 400, {"detail": "refused", "errors": missing}
            for item in body:
                del self.interfaces[item["id"]]
            return 204, None
        return 405, {"detail": "method not allowed"}

    def _answer_tags(
        self, method: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, object]:
        if method == "GET":
            found = [t for t in self.tags.values() if t["slug"] in query.get("slug", [])]
            if self.tag_created_meanwhile:
                found, self.tag_created_meanwhile = [], False
            return 200, {"count": len(found), "next": None, "previous": None, "results": found}
        if body["slug"] in self.tags:
            return 400, {"slug": ["tag with this slug already exists."]}
        tag = {"id": len(self.tags) + 1, "name": body["name"], "slug": body["slug"]}
        self.tags[tag["slug"]] = tag
        return 201, tag

    def __enter__(self) -> FakeNetBox:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeNetBox]:
    """An in-memory NetBox."""
    with FakeNetBox() as server:
        yield server


@pytest.fixture
def proxy(fake: FakeNetBox) -> Iterator[FaultProxy]:
    """A fault proxy in front of the in-memory NetBox; faults only when forced."""
    with FaultProxy(fake.url) as server:
        yield server


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the client's backoff short, so that the tests are fast."""
    monkeypatch.setattr(nbmod, "BACKOFF_FACTOR", 0.05)


def _client(url: str, retries: int = 2, timeout: tuple[float, float] = FAST) -> NetBox:
    api = connect(url, TOKEN, timeout=timeout, retries=retries)
    api.http_session.adapters["http://"].max_retries.backoff_factor = 0.05
    return NetBox(api, "test run")


def _creates(*names: str) -> list[dict[str, Any]]:
    return [{"device": DEVICE_ID, "name": n, "type": "virtual"} for n in names]


# --------------------------------------------------------------------------- retry policy


def test_capped_retry_caps_retry_after() -> None:
    response = urllib3.HTTPResponse(headers={"Retry-After": "3600"}, status=429)

    seconds = CappedRetry().get_retry_after(response)

    assert seconds == RETRY_AFTER_MAX


def test_capped_retry_ignores_an_unreadable_retry_after() -> None:
    response = urllib3.HTTPResponse(headers={"Retry-After": "soon, maybe"}, status=503)

    seconds = CappedRetry().get_retry_after(response)

    assert seconds is None


def test_get_is_retried_on_busy_answers(fake: FakeNetBox, proxy: FaultProxy) -> None:
    fake.add("Ethernet1")
    proxy.force("GET", "too_many", "unavailable", "bad_gateway", "drop_after")

    interfaces = _client(proxy.url, retries=4).read_interfaces(DEVICE_ID, "r1")

    assert [i.name for i in interfaces] == ["Ethernet1"]
    assert proxy.counts()[("GET", "none")] == 1
    assert sum(n for (m, _), n in proxy.counts().items() if m == "GET") == 5


def test_get_honours_a_capped_retry_after(
    fake: FakeNetBox, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nbmod, "RETRY_AFTER_MAX", 1.0)
    proxy.rates = FaultRates(retry_after="3600")
    proxy.force("GET", "too_many")
    client = _client(proxy.url)

    start = time.monotonic()
    client.read_interfaces(DEVICE_ID, "r1")
    elapsed = time.monotonic() - start

    assert 1.0 <= elapsed < 3.0


def test_get_gives_up_after_the_retries(fake: FakeNetBox, proxy: FaultProxy) -> None:
    proxy.force("GET", *["unavailable"] * 10)

    with pytest.raises(NetBoxError, match="HTTP 503") as raised:
        _client(proxy.url, retries=2).read_interfaces(DEVICE_ID, "r1")

    assert raised.value.status == 503
    assert len(proxy.seen) == 3


def test_connection_refused_fails_after_the_backoff_only(fake: FakeNetBox) -> None:
    closed = FaultProxy(fake.url).start()
    url = closed.url
    closed.stop()
    client = _client(url, retries=3)

    start = time.monotonic()
    with pytest.raises(NetBoxError, match="ConnectionError") as raised:
        client.read_interfaces(DEVICE_ID, "r1")
    elapsed = time.monotonic() - start

    assert raised.value.device == "r1"
    assert elapsed < 2.0


def test_stalled_server_is_bounded_by_the_request_worst_case(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    proxy.rates = FaultRates(delay=1.0, delay_seconds=1.5)
    timeout, retries = (0.2, 0.3), 2
    client = _client(proxy.url, retries=retries, timeout=timeout)

    start = time.monotonic()
    with pytest.raises(NetBoxError, match=r"ReadTimeout|Read timed out"):
        client.read_interfaces(DEVICE_ID, "r1")
    elapsed = time.monotonic() - start

    assert len(proxy.seen) == retries + 1
    assert (retries + 1) * timeout[1] <= elapsed <= request_worst_case(timeout, retries)


def test_worst_case_matches_the_documented_numbers() -> None:
    one = request_worst_case(DEFAULT_TIMEOUT, DEFAULT_RETRIES)

    host = worst_case_seconds(pages=1, bulk_writes=3, readback_requests=1)

    assert one == 445.0
    assert host == 31 * one + 12 * RETRY_AFTER_MAX
    assert round(host / 3600, 1) == 3.9
    doc = " ".join(str(nbmod.__doc__).split())
    assert "T = (N + 1) * (c + r) + N * A" in doc
    assert "(3 + p) * T + B * (R * ((1 + s) * T + A) + s * T)" in doc
    assert "(``T`` = 445 s)" in doc
    assert "bounded by 3.9 hours" in doc


# --------------------------------------------------------------------------- creates


def test_create_dropped_after_forwarding_is_not_sent_again(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    proxy.force("POST", "drop_after")

    outcome = _client(proxy.url).create_interfaces(_creates("Vlan1", "Vlan2"), "r1")

    assert set(outcome.written) == {"Vlan1", "Vlan2"}
    assert fake.names() == ["Vlan1", "Vlan2"]
    assert fake.requests["POST"] == 1
    assert proxy.counts()[("POST", "drop_after")] == 1


@pytest.mark.parametrize("fault", ["bad_gateway", "delay"])
def test_create_answered_late_or_badly_is_settled_by_reading_back(
    fake: FakeNetBox, proxy: FaultProxy, fault: Any
) -> None:
    proxy.rates = FaultRates(delay_seconds=1.5)
    proxy.force("POST", fault)

    outcome = _client(proxy.url).create_interfaces(_creates("Vlan1"), "r1")

    assert outcome.written == {"Vlan1": 1}
    assert fake.names() == ["Vlan1"]
    assert fake.requests["POST"] == 1


@pytest.mark.parametrize("fault", ["drop_before", "too_many", "unavailable"])
def test_create_that_never_arrived_is_sent_again(
    fake: FakeNetBox, proxy: FaultProxy, fault: Any
) -> None:
    proxy.force("POST", fault)

    outcome = _client(proxy.url).create_interfaces(_creates("Vlan1", "Vlan2"), "r1")

    assert set(outcome.written) == {"Vlan1", "Vlan2"}
    assert fake.names() == ["Vlan1", "Vlan2"]
    assert proxy.counts()[("POST", "none")] == 1


def test_create_resends_only_what_is_missing(fake: FakeNetBox, proxy: FaultProxy) -> None:
    proxy.force("POST", "drop_before")
    client = _client(proxy.url)
    fake.add("Vlan1")

    outcome = client.create_interfaces(_creates("Vlan2", "Vlan3"), "r1")
    fake.add("Vlan4")
    proxy.force("POST", "drop_after")
    second = client.create_interfaces(_creates("Vlan5"), "r1")

    assert set(outcome.written) == {"Vlan2", "Vlan3"}
    assert set(second.written) == {"Vlan5"}
    assert sorted(fake.names()) == ["Vlan1", "Vlan2", "Vlan3", "Vlan4", "Vlan5"]


def test_create_gives_up_after_the_write_rounds(fake: FakeNetBox, proxy: FaultProxy) -> None:
    proxy.force("POST", *["drop_before"] * WRITE_ROUNDS)

    with pytest.raises(NetBoxError, match=f"gave up after {WRITE_ROUNDS} requests") as raised:
        _client(proxy.url).create_interfaces(_creates("Vlan1", "Vlan2"), "r1")

    assert "not written: Vlan1, Vlan2" in str(raised.value)
    assert fake.names() == []
    assert sum(n for (m, _), n in proxy.counts().items() if m == "POST") == WRITE_ROUNDS


def test_create_with_an_unreadable_outcome_says_so(fake: FakeNetBox, proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    client.version("r1")
    proxy.force("POST", "drop_after")
    proxy.force("GET", *["unavailable"] * 10)

    with pytest.raises(NetBoxError, match="the outcome is unknown") as raised:
        client.create_interfaces(_creates("Vlan1"), "r1")

    assert "maybe not written: Vlan1" in str(raised.value)
    assert fake.names() == ["Vlan1"]
    assert fake.requests["POST"] == 1


@pytest.mark.parametrize("status", [400, 500])
def test_create_landing_after_its_resend_counts_as_written(
    fake: FakeNetBox, proxy: FaultProxy, status: int
) -> None:
    fake.hide_next_create = True
    fake.duplicate_status = status
    proxy.rates = FaultRates(delay_seconds=1.0)
    proxy.force("POST", "delay")

    outcome = _client(proxy.url, timeout=(0.5, 0.5)).create_interfaces(_creates("Vlan1"), "r1")

    assert outcome == BulkOutcome(written={"Vlan1": 1}, refused=())
    assert fake.names() == ["Vlan1"]
    assert fake.requests["POST"] == 2


def test_create_refusals_are_dropped_and_the_rest_written(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    fake.add("Vlan1")

    outcome = _client(proxy.url).create_interfaces(_creates("Vlan1", "Vlan2"), "r1")

    assert set(outcome.written) == {"Vlan2"}
    assert [r.name for r in outcome.refused] == ["Vlan1"]
    assert "already exists" in outcome.refused[0].reason


def test_write_failing_after_a_refusal_keeps_netbox_reason(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    iface = fake.add("Ethernet1", mtu=1500)
    proxy.force("PATCH", "none", *["drop_before"] * 20)
    items = [{"id": iface, "mtu": 9000}, {"id": 999, "mtu": 9000}]

    with pytest.raises(WriteError) as raised:
        _client(proxy.url).update_interfaces(items, {iface: "Ethernet1", 999: "Ethernet9"}, "r1")

    assert raised.value.outcome.written == {}
    assert raised.value.outcome.refused == (Refusal("Ethernet9", "id: no"),)
    assert str(raised.value).endswith("not written: Ethernet1")


def test_landed_after_all_moves_a_late_write_out_of_the_refusals() -> None:
    refused = [Refusal("Vlan1", "name: exists"), Refusal("Vlan2", "mtu: bad")]
    written: dict[str, int] = {}

    kept = nbmod._landed_after_all(
        refused,
        [{"name": "Vlan1"}, {"name": "Vlan2"}],
        lambda items: {"Vlan1": 11},
        written,
        lambda item: str(item["name"]),
    )

    assert kept == [Refusal("Vlan2", "mtu: bad")]
    assert written == {"Vlan1": 11}


def test_create_committed_then_answered_500_counts_as_written(fake: FakeNetBox) -> None:
    fake.next_post_commit_answer = (500, {"error": "event rule failed", "exception": "Error"})

    outcome = _client(fake.url).create_interfaces(_creates("Vlan1", "Vlan2"), "r1")

    assert set(outcome.written) == {"Vlan1", "Vlan2"}
    assert fake.names() == ["Vlan1", "Vlan2"]
    assert fake.requests["POST"] == 1


def test_create_refused_without_naming_items_is_a_clean_error(fake: FakeNetBox) -> None:
    fake.next_post_answer = (400, {"errors": ["blocked by the web firewall"]}, {})

    with pytest.raises(NetBoxError) as raised:
        _client(fake.url).create_interfaces(_creates("Vlan1"), "r1")

    assert str(raised.value) == (
        'r1: creating interfaces: HTTP 400: {"errors": ["blocked by the web firewall"]}'
    )
    assert fake.names() == []


def test_redirect_is_not_followed_and_says_where_it_points(fake: FakeNetBox) -> None:
    fake.next_post_answer = (301, None, {"Location": "https://netbox.example/api/dcim/"})

    with pytest.raises(NetBoxError) as raised:
        _client(fake.url).create_interfaces(_creates("Vlan1"), "r1")

    assert "redirect to https://netbox.example/api/dcim/" in str(raised.value)
    assert fake.requests["POST"] == 1
    assert fake.requests["GET"] <= 1
    assert fake.names() == []


def test_ensure_tag_created_by_another_host_meanwhile_is_found(fake: FakeNetBox) -> None:
    fake.tags["stale"] = {"id": 1, "name": "stale", "slug": "stale"}
    fake.tag_created_meanwhile = True

    _client(fake.url).ensure_tag("stale", "r1")

    assert fake.requests["POST"] == 1
    assert list(fake.tags) == ["stale"]


def test_ensure_tag_creates_a_missing_tag(fake: FakeNetBox) -> None:
    _client(fake.url).ensure_tag("stale", "r1")

    assert list(fake.tags) == ["stale"]


def test_task_keeps_its_report_when_an_answer_breaks_the_client(
    fake: FakeNetBox, tmp_path: Path
) -> None:
    fake.add("Ethernet1", mtu=1400)
    fake.next_post_answer = (201, {"id": 99, "name": "Ethernet2"}, {})
    port = {
        "is_enabled": True,
        "is_up": True,
        "description": "",
        "last_flapped": -1.0,
        "speed": 1000.0,
        "mtu": 1500,
        "mac_address": "",
    }
    replies = write_mock_replies(
        tmp_path, {"get_interfaces": {"Ethernet1": port, "Ethernet2": port}}
    )
    nr = make_nornir([mock_host("r1", DEVICE_ID, replies)])

    result = nr.run(task=netbox_update_interfaces, netbox=connect(fake.url, TOKEN))["r1"]

    assert result.failed
    assert str(result.exception).startswith("r1: writing stopped by an unexpected AttributeError")
    report = result[0].result
    assert report.created == ()
    assert report.not_written == ("Ethernet2", "Ethernet1")
    assert "x not written (failed): Ethernet2, Ethernet1" in result[0].diff


# --------------------------------------------------------------------------- updates, deletes


def test_update_is_retried_by_the_session(fake: FakeNetBox, proxy: FaultProxy) -> None:
    iface = fake.add("Ethernet1", mtu=1500)
    proxy.force("PATCH", "drop_after", "bad_gateway")

    outcome = _client(proxy.url).update_interfaces(
        [{"id": iface, "mtu": 9000}], {iface: "Ethernet1"}, "r1"
    )

    assert outcome == BulkOutcome(written={"Ethernet1": iface}, refused=())
    assert fake.interfaces[iface]["mtu"] == 9000
    assert fake.requests["PATCH"] == 3


def test_update_with_an_unknown_outcome_is_settled_by_values(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    first = fake.add("Ethernet1", mtu=1500)
    second = fake.add("Ethernet2", description="old")
    proxy.force("PATCH", *["bad_gateway"] * 3)
    items: list[dict[str, Any]] = [{"id": first, "mtu": 9000}, {"id": second, "description": "new"}]

    outcome = _client(proxy.url, retries=2).update_interfaces(
        items, {first: "Ethernet1", second: "Ethernet2"}, "r1"
    )

    assert set(outcome.written) == {"Ethernet1", "Ethernet2"}
    assert fake.requests["PATCH"] == 3


def test_holds_compares_payload_values_with_a_record() -> None:
    record = type(
        "R",
        (),
        {
            "parent": type("P", (), {"id": 4})(),
            "mac_address": "aa:bb:cc:dd:ee:ff",
            "tags": [type("T", (), {"slug": "stale"})()],
            "mtu": 9000,
            "type": type("C", (), {"value": "virtual"})(),
        },
    )()

    same = nbmod._holds(
        record,
        {
            "id": 1,
            "parent": 4,
            "mac_address": "AA:BB:CC:DD:EE:FF",
            "tags": [{"slug": "stale"}],
            "mtu": 9000,
            "type": "virtual",
            "changelog_message": "x",
        },
    )
    different = nbmod._holds(record, {"id": 1, "mtu": 1500})

    assert same is True
    assert different is False


def test_delete_dropped_after_forwarding_is_not_sent_again(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    first, second = fake.add("Ethernet1"), fake.add("Ethernet2")
    proxy.force("DELETE", "drop_after")

    outcome = _client(proxy.url).delete_interfaces(
        [first, second], {first: "Ethernet1", second: "Ethernet2"}, "r1"
    )

    assert outcome == BulkOutcome(written={"Ethernet1": first, "Ethernet2": second}, refused=())
    assert fake.names() == []
    assert fake.requests["DELETE"] == 1


def test_delete_that_never_arrived_is_sent_again(fake: FakeNetBox, proxy: FaultProxy) -> None:
    iface = fake.add("Ethernet1")
    proxy.force("DELETE", "drop_before")

    outcome = _client(proxy.url).delete_interfaces([iface], {iface: "Ethernet1"}, "r1")

    assert outcome.written == {"Ethernet1": iface}
    assert fake.requests["DELETE"] == 1
    assert sum(n for (m, _), n in proxy.counts().items() if m == "DELETE") == 2


# --------------------------------------------------------------------------- client objects


def test_netbox_repr_shows_the_url_and_not_the_token(fake: FakeNetBox) -> None:
    client = _client(fake.url)

    text = repr(client)

    assert text == f"NetBox('{fake.url}/api')"
    assert TOKEN not in text


def test_connect_drops_the_newline_a_secret_file_leaves(fake: FakeNetBox) -> None:
    api = connect(fake.url, f"{TOKEN}\n")

    assert api.token == TOKEN
    assert NetBox(api).version("r1") is not None


@pytest.mark.parametrize("token", ["", f"{TOKEN[:20]} {TOKEN[20:]}", f"{TOKEN}\u2019", "a\x00b"])
def test_connect_refuses_a_token_that_cannot_be_a_header_without_showing_it(
    fake: FakeNetBox, token: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        connect(fake.url, token)

    assert "token" in str(raised.value)
    assert TOKEN[:20] not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"InvalidHeader: 'Token {TOKEN}\\n'", "InvalidHeader: 'Token ***'"),
        ("header 'Bearer nbt_abc.secretsecret'", "header 'Bearer ***'"),
        (f"raw {TOKEN} and nbt_k3y.s3cret", "raw *** and ***"),
        (
            "check the token and its NetBox permissions",
            "check the token and its NetBox permissions",
        ),
    ],
)
def test_redact_hides_what_may_be_a_token(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_error_of_a_token_requests_cannot_send_does_not_show_it(fake: FakeNetBox) -> None:
    client = NetBox(pynetbox.api(fake.url, token=f"{TOKEN}\n"))

    with pytest.raises(NetBoxError) as raised:
        client.version("r1")

    assert "InvalidHeader" in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert TOKEN[:8] not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    ["http://nb.example", "http://nb.example/", "http://nb.example/api", "http://nb.example/api/"],
)
def test_connect_takes_the_base_url_however_it_ends(url: str) -> None:
    assert connect(url, TOKEN).base_url == "http://nb.example/api"


def test_connect_names_a_token_given_with_its_header_prefix() -> None:
    with pytest.raises(ConfigurationError, match="starts with 'Token ' or 'Bearer '") as raised:
        connect("http://nb.example", f"Token {TOKEN}")

    assert TOKEN not in str(raised.value)


def test_html_404_says_the_url_is_not_netbox_api(fake: FakeNetBox) -> None:
    client = NetBox(connect(f"{fake.url}/netbox", TOKEN))

    with pytest.raises(NetBoxError) as raised:
        client.read_interfaces(DEVICE_ID, "r1")

    assert str(raised.value) == (
        "r1: reading interfaces: HTTP 404 with an HTML page: no NetBox API at this URL "
        "(give NetBox's base URL, without /api)"
    )


def test_task_refuses_a_netbox_that_is_not_a_pynetbox_api(tmp_path: Path) -> None:
    replies = write_mock_replies(tmp_path, {"get_interfaces": {}})
    nr = make_nornir([mock_host("r1", DEVICE_ID, replies)])

    result = nr.run(task=netbox_update_interfaces, netbox="http://127.0.0.1:8000")["r1"]

    assert result.failed
    assert str(result.exception) == (
        "r1: netbox= takes a pynetbox.api (nornir_nb_ifsync.connect(url, token) makes one), "
        "not a str"
    )


def test_thread_client_gives_each_thread_its_own_session(fake: FakeNetBox) -> None:
    mine = thread_client(fake.url, TOKEN, True)
    again = thread_client(fake.url, TOKEN, True)
    theirs: list[Any] = []
    worker = threading.Thread(target=lambda: theirs.append(thread_client(fake.url, TOKEN, True)))

    worker.start()
    worker.join()

    assert mine is again
    assert theirs[0] is not mine
    assert theirs[0].http_session is not mine.http_session


def test_error_messages_quote_a_short_excerpt_of_the_body(
    fake: FakeNetBox, proxy: FaultProxy
) -> None:
    proxy.force("POST", "unavailable", "unavailable", "unavailable", "unavailable")

    with pytest.raises(NetBoxError) as raised:
        _client(proxy.url).create_interfaces(_creates("Vlan1"), "r1")

    assert "HTTP 503: <html>service unavailable</html>" in str(raised.value)
    assert len(str(raised.value)) < 400


# --------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1."""
    return self_signed(tmp_path / "tls")


def test_tls_is_verified_by_default_and_not_retried(fake: FakeNetBox, tls_files: TlsFiles) -> None:
    with FaultProxy(fake.url, tls=tls_files) as tls_proxy:
        client = NetBox(connect(tls_proxy.url, TOKEN, retries=4))

        start = time.monotonic()
        with pytest.raises(NetBoxError, match="SSLError") as raised:
            client.read_interfaces(DEVICE_ID, "r1")
        elapsed = time.monotonic() - start

    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert elapsed < 1.0
    assert tls_proxy.seen == []


@pytest.mark.parametrize("choice", ["bundle", "insecure"])
def test_explicit_tls_choice_wins_over_the_requests_environment(
    fake: FakeNetBox, tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    fake.add("Ethernet1")
    verify: bool | str = str(tls_files.cert) if choice == "bundle" else False

    with FaultProxy(fake.url, tls=tls_files) as tls_proxy:
        interfaces = NetBox(connect(tls_proxy.url, TOKEN, verify)).read_interfaces(DEVICE_ID, "r1")

    assert [i.name for i in interfaces] == ["Ethernet1"]


def test_insecure_connect_warns_once_per_url(
    fake: FakeNetBox, tls_files: TlsFiles, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add("Ethernet1")

    with FaultProxy(fake.url, tls=tls_files) as tls_proxy:
        url = tls_proxy.url
        for _ in range(3):
            NetBox(connect(url, TOKEN, False)).read_interfaces(DEVICE_ID, "r1")

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [f"TLS certificate verification is off for {url}"]


@pytest.mark.lab
@pytest.mark.parametrize("choice", ["default", "bundle", "insecure"])
def test_task_through_tls_follows_nb_ssl_verify(
    netbox_lab: NetBoxLab,
    tls_files: TlsFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    choice: str,
) -> None:
    caplog.set_level(logging.WARNING)
    api = connect(netbox_lab.url, netbox_lab.token_v1)
    replies = write_mock_replies(
        tmp_path / "mock",
        {
            "get_interfaces": {
                "Ethernet1": {
                    "is_enabled": True,
                    "is_up": True,
                    "description": "tls",
                    "last_flapped": -1.0,
                    "speed": 1000.0,
                    "mtu": 1500,
                    "mac_address": "00:1c:73:00:00:01",
                }
            }
        },
    )
    hosts = []
    for n in range(3):
        name = f"tls-{choice}-{n}-{tmp_path.name[-6:]}"
        hosts.append(mock_host(name, create_device(api, name, "mock"), replies))
    nr = make_nornir(hosts, num_workers=3)
    verify = {"default": "true", "bundle": str(tls_files.cert), "insecure": "false"}[choice]

    with FaultProxy(netbox_lab.url, tls=tls_files) as tls_proxy:
        url = tls_proxy.url
        monkeypatch.setenv("NB_URL", url)
        monkeypatch.setenv("NB_TOKEN", netbox_lab.token_v1)
        monkeypatch.setenv("NB_SSL_VERIFY", verify)
        result = nr.run(task=netbox_update_interfaces, on_failed=True)

    warnings = [r.getMessage() for r in caplog.records if "TLS certificate" in r.getMessage()]
    if choice == "default":
        assert all(result[h.name].failed for h in hosts)
        assert all("CERTIFICATE_VERIFY_FAILED" in str(result[h.name].exception) for h in hosts)
        assert warnings == []
    else:
        assert not any(result[h.name].failed for h in hosts)
        assert all(result[h.name][0].result.created for h in hosts)
        assert warnings == (
            [f"TLS certificate verification is off for {url}"] if choice == "insecure" else []
        )
