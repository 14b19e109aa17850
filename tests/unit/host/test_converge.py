"""converge.drifted: the pure comparison of a workload end's state with its port."""

from ovnet.host.converge import EndState, drifted

PORT = {"fixed_ips": [{"ip_address": "10.0.0.5"}, {"ip_address": "fd00::5"}],
        "allowed_address_pairs": [{"ip_address": "10.0.9.0/24"}]}


def state(*addresses: str, up: bool = True, mtu: int = 1442) -> EndState:
    return EndState(up=up, mtu=mtu, addresses=frozenset(addresses))


def test_an_end_with_exactly_the_port_addresses_has_not_drifted():
    assert not drifted(state("10.0.0.5", "fd00::5"), PORT, 1442)


def test_an_allowed_address_pair_address_is_not_drift():
    assert not drifted(state("10.0.0.5", "fd00::5", "10.0.9.7"), PORT, 1442)


def test_a_missing_fixed_ip_or_a_foreign_address_is_drift():
    assert drifted(state("10.0.0.5"), PORT, 1442)
    assert drifted(state("10.0.0.5", "fd00::5", "10.0.0.6"), PORT, 1442)


def test_a_down_link_or_another_mtu_is_drift_and_no_mtu_is_not_compared():
    assert drifted(state("10.0.0.5", "fd00::5", up=False), PORT, 1442)
    assert drifted(state("10.0.0.5", "fd00::5", mtu=1500), PORT, 1442)
    assert not drifted(state("10.0.0.5", "fd00::5", mtu=1500), PORT, None)
