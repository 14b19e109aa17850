"""Pure rules of the host side: device names and the kernel alias that marks ovnet's devices."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovnet.host.binding import host_error_body
from ovnet.host.errors import BadRequest, BindTimeout, Conflict
from ovnet.host.attachment import IFNAMSIZ, check_ifname
from ovnet.host.vif import device_alias, parse_alias, veth_host_name, vif_for


@given(st.uuids(), st.sampled_from(["veth", "tap", "internal"]))
def test_alias_round_trips(port_uuid, kind):
    assert parse_alias(device_alias(str(port_uuid), kind)) == (str(port_uuid), kind)


@pytest.mark.parametrize("alias", [None, "", "eth0 uplink", "ovnet:", "ovnet::veth"])
def test_foreign_aliases_are_not_ovnets(alias):
    assert parse_alias(alias) is None


@given(st.uuids())
def test_veth_host_names_fit_the_kernel_and_differ_per_port(port_uuid):
    name = veth_host_name(str(port_uuid))
    assert len(name) <= IFNAMSIZ and name.startswith("vh")
    assert check_ifname(name) == name
    assert veth_host_name(str(uuid.uuid4())) != name


@pytest.mark.parametrize("name", ["", "a" * 16, "a/b", "a:b", "a b", ".", ".."])
def test_bad_interface_names_are_refused(name):
    with pytest.raises(BadRequest):
        check_ifname(name)


def test_unknown_vif_kind_is_a_bad_request():
    with pytest.raises(BadRequest, match="macvtap"):
        vif_for("macvtap", host=None)


def test_errors_become_neutron_error_bodies():
    assert host_error_body(Conflict("taken")) == (
        409, {"NeutronError": {"type": "PortBindingConflict", "message": "taken", "detail": ""}})
    status, body = host_error_body(BindTimeout("slow"))
    assert status == 504 and body["NeutronError"]["type"] == "PortBindingTimeout"
