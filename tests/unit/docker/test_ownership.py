"""Who owns an IPAM port (issue 15's failing input): every variant of a same-MAC request and of a
release, on plain API JSON."""

from __future__ import annotations

import pytest

from ovnet.host.docker import ownership, pools
from ovnet.host.docker.protocol import PluginError

SUBNET = {"id": "s4", "cidr": "10.9.9.0/24"}
MAC = "02:00:00:aa:bb:01"


def port(device_id: str = "", addresses: tuple = (("s4", "10.9.9.2"),), tags=(pools.IPAM_TAG,)) -> dict:
    return {"id": "p1", "device_id": device_id, "tags": list(tags),
            "fixed_ips": [{"subnet_id": s, "ip_address": a} for s, a in addresses]}


def test_a_live_endpoints_port_is_refused_to_another_request_naming_the_mac():
    with pytest.raises(PluginError, match=f"MAC address {MAC} is already used by endpoint e1e1e1e1e1e1"):
        ownership.same_mac_answer(port("e1" * 32), SUBNET, None, MAC)


def test_a_live_endpoint_re_reserving_its_own_address_gets_it_again():
    assert ownership.same_mac_answer(port("e1" * 32), SUBNET, "10.9.9.2", MAC) == "10.9.9.2"


def test_a_live_endpoints_port_is_refused_for_another_address_and_another_family():
    with pytest.raises(PluginError, match=MAC):
        ownership.same_mac_answer(port("e1" * 32), SUBNET, "10.9.9.3", MAC)
    with pytest.raises(PluginError, match=MAC):
        ownership.same_mac_answer(port("e1" * 32, addresses=(("s6", "fd00::2"),)), SUBNET, None, MAC)


def test_a_pending_requests_port_is_not_handed_out_twice():
    with pytest.raises(PluginError, match="pending endpoint"):
        ownership.same_mac_answer(port(), SUBNET, None, MAC)
    with pytest.raises(PluginError, match="pending endpoint"):
        ownership.same_mac_answer(port(), SUBNET, "10.9.9.2", MAC)


def test_the_other_family_of_a_pending_request_joins_its_port():
    assert ownership.same_mac_answer(port(addresses=(("s6", "fd00::2"),)), SUBNET, None, MAC) is None


def test_a_port_the_ipam_did_not_make_is_refused():
    with pytest.raises(PluginError, match="already used by port p1"):
        ownership.same_mac_answer(port(tags=()), SUBNET, None, MAC)


def test_release_touches_only_unclaimed_ports_and_ended_endpoints():
    assert ownership.may_release(port(), endpoint_ended=False)
    assert ownership.may_release(port("e1" * 32), endpoint_ended=True)
    assert not ownership.may_release(port("e1" * 32), endpoint_ended=False)


def test_an_optionless_request_for_a_live_endpoints_address_is_a_reservation_not_an_aux_address():
    assert ownership.is_reservation_of_live_endpoint([port("e1" * 32)])
    assert not ownership.is_reservation_of_live_endpoint([port()])
    assert not ownership.is_reservation_of_live_endpoint([port("e1" * 32, tags=())])
