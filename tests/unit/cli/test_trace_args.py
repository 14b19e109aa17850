"""``ovnet trace`` refuses what it cannot trace as a usage error (exit 2), before asking OVN."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ovnet.apiclient import ApiError
from ovnet.cli.main import app
from ovnet.cli.trace import UnknownEndpoint, find_destination

SOURCE = {"id": "p1", "network_id": "n1", "fixed_ips": [{"ip_address": "10.0.0.1"}]}


@pytest.mark.parametrize("args", [
    ["--proto", "tcp", "--dport", "99999"], ["--proto", "tcp", "--dport", "65536"],
    ["--proto", "udp", "--dport", "-1"], ["--proto", "icmp", "--dport", "22"], ["--dport", "22"],
])
def test_a_port_out_of_range_or_without_tcp_udp_is_a_usage_error(args, tmp_path):
    got = CliRunner().invoke(app, ["trace", "--from", "a", "--to", "10.0.0.2", *args, "--state-dir", str(tmp_path)])
    assert got.exit_code == 2, got.output
    assert "dropped" not in got.output


class NoPorts:
    """An API client whose caller sees no ports at all."""

    def request(self, method, path):
        raise ApiError(404, "PortNotFound", path)

    def list_ports(self, **filters):
        return []


@pytest.mark.parametrize("ref", ["999.1.1.1", "10.0.0", "fd00::g"])
def test_a_destination_that_is_no_address_says_so(ref):
    with pytest.raises(UnknownEndpoint, match="not a valid IP address"):
        find_destination(NoPorts(), ref, SOURCE)
