"""Tests of the report and the diff text."""

from __future__ import annotations

import json

from nornir_nb_ifsync.apply import Applied
from nornir_nb_ifsync.models import (
    FieldChange,
    InterfaceCreate,
    InterfaceUpdate,
    Plan,
    Skipped,
)
from nornir_nb_ifsync.report import build_report, render_diff

PLAN = Plan(
    creates=(InterfaceCreate("Eth3", {"name": "Eth3", "type": "1000base-t", "speed": 1000000}),),
    updates=(InterfaceUpdate(5, "Eth1", (FieldChange("description", "old", "new ✓"),)),),
    unchanged=("Eth2",),
    skipped=(Skipped("lsi", "pseudo-interface"), Skipped("Eth1", "MTU too big", "mtu")),
    not_on_device=("Eth9",),
)


def test_dry_run_report_is_the_plan() -> None:
    report = build_report("r1", 1, PLAN, None, "run1")

    assert report.dry_run is True
    assert report.changed is True
    assert report.created == PLAN.creates
    assert report.updated == PLAN.updates


def test_report_to_dict_is_plain_json() -> None:
    report = build_report("r1", 1, PLAN, None, "run1")

    data = json.loads(json.dumps(report.to_dict()))

    assert data["created"] == [{"name": "Eth3", "type": "1000base-t", "speed": 1000000}]
    assert data["updated"][0]["changes"] == {"description": {"old": "old", "new": "new ✓"}}
    assert data["not_on_device"] == ["Eth9"]
    assert data["run_id"] == "run1"


def test_render_diff_lists_every_change() -> None:
    text = render_diff(build_report("r1", 1, PLAN, None, "run1"))

    assert text.splitlines() == [
        '+ Eth3  type="1000base-t" speed=1000000',
        '~ Eth1  description: "old" → "new ✓"',
        "! Eth1  mtu: MTU too big",
        "! skipped (pseudo-interface): lsi",
        "? in NetBox, not on the device: Eth9",
    ]


def test_report_after_a_failed_write_names_what_was_not_written() -> None:
    applied = Applied(created=[PLAN.creates[0]])

    report = build_report("r1", 1, PLAN, applied, "run1", error="NetBox down")

    assert report.created == PLAN.creates
    assert report.updated == ()
    assert report.not_written == ("Eth1",)
    assert report.error == "NetBox down"
    assert "x not written (failed): Eth1" in render_diff(report)


def test_report_keeps_an_interface_whose_parent_was_refused_in_not_written() -> None:
    changes = (FieldChange("parent", None, "Gi0/0"), FieldChange("description", "", "cust"))
    plan = Plan(updates=(InterfaceUpdate(8, "Gi0/0.100", changes),))
    applied = Applied(
        refused=[Skipped("Gi0/0.100", "parent not set: Gi0/0 was not created", "parent")]
    )

    report = build_report("r1", 1, plan, applied, "run1", error="updating interfaces: gave up")

    assert report.not_written == ("Gi0/0.100",)


def test_report_of_an_update_left_with_nothing_to_send_has_nothing_unwritten() -> None:
    plan = Plan(updates=(InterfaceUpdate(8, "Gi0/0.100", (FieldChange("parent", None, "Gi0/0"),)),))
    applied = Applied(
        refused=[Skipped("Gi0/0.100", "parent not set: Gi0/0 was not created", "parent")],
        dropped=["Gi0/0.100"],
    )

    report = build_report("r1", 1, plan, applied, "run1")

    assert report.not_written == ()
    assert report.skipped == tuple(applied.refused)


def test_render_diff_leaves_tagged_stale_interfaces_out_of_the_question_line() -> None:
    tagged = InterfaceUpdate(9, "Eth9", (FieldChange("tags", [], ["stale"]),))
    plan = Plan(updates=(tagged,), not_on_device=("Eth9", "Eth8"))

    text = render_diff(build_report("r1", 1, plan, None, "run1"))

    assert text.splitlines() == [
        '~ Eth9  tags: [] → ["stale"]',
        "? in NetBox, not on the device: Eth8",
    ]
