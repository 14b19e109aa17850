"""The machine-local public network: provider bridges with ovn-bridge-mappings on every chassis,
one Linux bridge and the outside host in a namespace of ovnet's own, gone after down --purge."""

from __future__ import annotations

import secrets

import pytest
from pyroute2 import IPRoute, netns

from ovnet.runtime import allinone as aio
from ovnet.runtime import hosts, public
from ovnet.runtime.chassis import local_chassis
from ovnet.runtime.process import run, wait_until
from tests.helpers.allinone import private_settings

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _sb_mappings(settings) -> dict[str, str]:
    out = run(["ovn-sbctl", f"--db={settings.sb_connection}", "--bare", "--columns=name,other_config",
               "list", "Chassis"])
    found, name = {}, None
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if name is None:
            name = line
        else:
            found[name] = dict(kv.split("=", 1) for kv in line.split() if "=" in kv).get("ovn-bridge-mappings", "")
            name = None
    return found


def _public_links(settings) -> dict[str, list[str]]:
    with IPRoute(netns=settings.public_netns) as ipr:
        out = {}
        for link in ipr.get_links():
            idx = link["index"]
            out[link.get_attr("IFLA_IFNAME")] = [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)]
        return out


def test_every_chassis_maps_public_to_its_provider_bridge(tmp_path):
    settings = private_settings(tmp_path)
    name = f"hv{secrets.token_hex(3)}"
    try:
        aio.up(settings)
        assert settings.public_netns in netns.listnetns()
        links = _public_links(settings)
        assert links[public.PUBLIC_BRIDGE] == ["10.50.50.1"] and "ex1" in links
        local = local_chassis(settings)
        mapping = local.vsctl("get", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings")
        assert mapping.strip().strip('"') == "public:br-ex"
        assert wait_until(lambda: None if _sb_mappings(settings).get(settings.chassis_name) == "public:br-ex"
                          else str(_sb_mappings(settings)), 10.0) is None

        hosts.add(settings, name)
        assert "ex2" in _public_links(settings)
        assert wait_until(lambda: None if _sb_mappings(settings).get(name) == "public:br-ex"
                          else str(_sb_mappings(settings)), 10.0) is None
        assert hosts.remove(settings, name)
        assert "ex2" not in _public_links(settings)
        aio.up(settings)  # idempotent
        assert sorted(_public_links(settings)) == sorted(links)
    finally:
        aio.down(settings, purge=True)
    assert settings.public_netns not in netns.listnetns()


def test_up_repairs_a_deleted_public_namespace_with_a_fresh_ovs_port(tmp_path):
    # The new user's finding: after `ip netns del ovnet-public`, `ovnet up` re-made the namespace
    # and the veth, but the chassis end's old OVS port kept it dead (floating IPs and SNAT broken).
    settings = private_settings(tmp_path)
    try:
        aio.up(settings)
        local = local_chassis(settings)
        end = public._chassis_end(settings, local)
        before = local.vsctl("get", "Interface", end, "_uuid").strip()
        netns.remove(settings.public_netns)

        aio.up(settings)

        assert "ex1" in _public_links(settings)
        assert local.vsctl("get", "Interface", end, "_uuid").strip() != before
        assert wait_until(lambda: None if int(local.vsctl("get", "Interface", end, "ofport")) > 0
                          else "no ofport", 10.0) is None
    finally:
        aio.down(settings, purge=True)
    assert settings.public_netns not in netns.listnetns()
