"""The lab NetBox is a real NetBox: both token kinds, server-side validation, fast restarts."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pynetbox
import pytest
import requests

from tests.lab import seed
from tests.lab.netbox_server import (
    NETBOX_VERSION,
    TEMPLATE_PREFIX,
    NetBoxLab,
    render_configuration,
    template_name,
)

INSTALL_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "install-lab.sh"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- no lab needed


def test_template_name_is_keyed_by_version_and_hash() -> None:
    name = template_name()
    version = NETBOX_VERSION.replace(".", "_")
    assert re.fullmatch(rf"{TEMPLATE_PREFIX}{version}_[0-9a-f]{{12}}", name)
    assert name == template_name()


def test_configuration_has_the_lab_settings() -> None:
    source = render_configuration(database="nbifsync_run_x", pg_port=5432, redis_port=6390)
    namespace: dict[str, Any] = {}
    exec(compile(source, "configuration.py", "exec"), namespace)  # noqa: S102
    assert namespace["CUSTOM_VALIDATORS"] == {
        "dcim.interface": [{"description": {"regex": "^[^#]*$"}}]
    }
    assert namespace["CENSUS_REPORTING_ENABLED"] is False
    assert namespace["DEBUG"] is False
    assert namespace["API_TOKEN_PEPPERS"]
    assert "MAX_PAGE_SIZE" not in namespace
    assert namespace["REDIS"]["caching"]["PORT"] == 6390
    assert namespace["DATABASES"]["default"]["NAME"] == "nbifsync_run_x"


def test_install_script_pins_the_same_netbox() -> None:
    assert f'NETBOX_VERSION="${{NETBOX_VERSION:-{NETBOX_VERSION}}}"' in INSTALL_SCRIPT.read_text()


# --------------------------------------------------------------------------- against the lab


@pytest.mark.lab
@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_each_token_kind_writes_and_reads(netbox_lab: NetBoxLab, kind: str) -> None:
    token = netbox_lab.token_v1 if kind == "v1" else netbox_lab.token_v2
    api = netbox_lab.api(token)
    device_id = seed.create_device(api, _unique(f"tok-{kind}"), "cisco-ios", "192.0.2.10")
    try:
        [iface_id] = seed.create_interfaces(
            api, device_id, [{"name": "GigabitEthernet0/1", "mtu": 9000, "description": kind}]
        )
        back = api.dcim.interfaces.get(iface_id)
        assert (back.name, back.mtu, back.description) == ("GigabitEthernet0/1", 9000, kind)
        device = api.dcim.devices.get(device_id)
        assert device.primary_ip4.address == "192.0.2.10/32"
        mgmt = api.dcim.interfaces.get(device_id=device_id, name=seed.DEFAULT_MGMT_INTERFACE)
        assert mgmt is not None
    finally:
        seed.delete_device(api, device_id)
    assert api.dcim.devices.get(device_id) is None


@pytest.mark.lab
@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Token {v1}", 200),
        ("Bearer {v2}", 200),
        ("Token {v2}", 200),
        ("Token 0000000000000000000000000000000000000000", 403),
        (None, 403),
    ],
)
def test_authorization_headers(netbox_lab: NetBoxLab, header: str | None, status: int) -> None:
    headers = {"Accept": "application/json"}
    if header is not None:
        headers["Authorization"] = header.format(v1=netbox_lab.token_v1, v2=netbox_lab.token_v2)
    reply = requests.get(f"{netbox_lab.url}/api/dcim/sites/", headers=headers, timeout=30)
    assert reply.status_code == status


@pytest.mark.lab
def test_base_seed_is_in_the_template(nb: Any) -> None:
    platforms = {p.slug: p.name for p in nb.dcim.platforms.all()}
    for platform in seed.BASE_SEED.platforms:
        assert platforms[platform.slug] == platform.name
    assert nb.dcim.sites.get(slug=seed.SITE_SLUG) is not None
    assert nb.dcim.device_roles.get(slug=seed.ROLE_SLUG) is not None
    assert nb.extras.tags.get(slug=seed.STALE_TAG_SLUG) is not None
    assert nb.status()["netbox-version"].startswith(NETBOX_VERSION)


@pytest.mark.lab
def test_admin_password_provisions_a_token(netbox_lab: NetBoxLab) -> None:
    api = pynetbox.api(netbox_lab.url)
    api.create_token(netbox_lab.admin_user, netbox_lab.admin_password)
    assert api.token.startswith("nbt_")
    assert api.dcim.sites.get(slug=seed.SITE_SLUG) is not None


@pytest.mark.lab
def test_custom_validator_refuses_hash_in_description(nb: Any) -> None:
    device_id = seed.create_device(nb, _unique("validator"), "arista-eos", None)
    try:
        with pytest.raises(pynetbox.RequestError) as refused:
            seed.create_interfaces(nb, device_id, [{"name": "Ethernet1", "description": "a#b"}])
        assert refused.value.req.status_code == 400
        assert "description" in refused.value.req.text
        seed.create_interfaces(nb, device_id, [{"name": "Ethernet1", "description": "a-b"}])
    finally:
        seed.delete_device(nb, device_id)


@pytest.mark.lab
def test_second_start_clones_the_template(netbox_lab: NetBoxLab) -> None:
    name = _unique("only-in-first")
    device_id = seed.create_device(netbox_lab.api(), name, "mock", None)
    try:
        with NetBoxLab.start(workers=1) as second:
            assert second.cloned_from_template
            assert not second.template_built
            assert second.template == netbox_lab.template
            assert second.database != netbox_lab.database
            assert second.api().dcim.devices.get(name=name) is None
            assert second.api(second.token_v2).dcim.sites.get(slug=seed.SITE_SLUG) is not None
            assert second.access_log.read_text().count("/api/status/") >= 1
        assert not second.memory_usage()["total"]
    finally:
        seed.delete_device(netbox_lab.api(), device_id)
