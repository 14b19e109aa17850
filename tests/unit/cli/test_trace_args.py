"""``ovnet trace`` refuses what it cannot trace as a usage error (exit 2), before asking OVN."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from ovnet.apiclient import ApiError
from ovnet.cli import engines
from ovnet.cli import trace as trace_cli
from ovnet.cli.main import app
from ovnet.cli.trace import UnknownEndpoint, find_destination
from ovnet.config import Settings

SOURCE = {"id": "p1", "network_id": "n1", "fixed_ips": [{"ip_address": "10.0.0.1"}]}


@pytest.fixture(autouse=True)
def no_containers(monkeypatch):
    # a name no port has is also looked up among this machine's containers: here there are none
    monkeypatch.setattr(engines, "containers", lambda: [])


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


def test_from_outside_traces_from_the_outside_host_of_the_external_network(monkeypatch, tmp_path):
    # `ovnet trace --from outside` once said "no port or workload 'outside'" (new-user finding)
    class Api(NoPorts):
        def list_networks(self, **filters):
            assert filters == {"router:external": "true"}
            return [{"id": "other-ext"}, {"id": "pub"}]

        def list_subnets(self, network_id):
            return [{"cidr": "10.50.50.0/24" if network_id == "pub" else "172.16.0.0/24"}]

    seen = {}

    def from_outside(api, settings, network_id, address, floating_ip, proto, dport):
        seen.update(network=network_id, address=address, fip=floating_ip, proto=proto)
        return {"verdict": "delivered"}
    monkeypatch.setattr(trace_cli, "run_trace_from_outside", from_outside)
    settings = Settings(state_dir=tmp_path)
    assert trace_cli.run_cli_trace(Api(), settings, "outside", "10.50.50.20", "icmp", None) == {"verdict": "delivered"}
    assert seen == {"network": "pub", "address": "10.50.50.1", "fip": "10.50.50.20", "proto": "icmp"}
    with pytest.raises(trace_cli.TraceError, match="no external network"):
        trace_cli.run_cli_trace(Api(), Settings(state_dir=tmp_path, public_cidr="192.0.2.0/24"), "outside",
                                "10.50.50.20", "icmp", None)


def test_no_api_server_is_one_error_line_not_a_traceback(monkeypatch, tmp_path):
    # `ovnet trace` with the API server down once printed httpx.ConnectError's traceback (new-user finding)
    with socket.socket() as free:  # a loopback port nothing listens on once this socket is closed
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}"
    monkeypatch.setenv("OVNET_API_URLS", url)
    got = CliRunner().invoke(app, ["trace", "--from", "a", "--to", "10.0.0.2", "--token", "t0ken",
                                   "--state-dir", str(tmp_path)])
    assert got.exit_code == 2, got.output
    assert got.exception is None or isinstance(got.exception, SystemExit), got.exception
    assert got.output.startswith(f"error: no API server reachable at {url} ("), got.output
    assert got.output.endswith("; is ovnet up?\n") and got.output.count("\n") == 1, got.output


def test_from_outside_to_a_port_name_asks_for_a_floating_ip(tmp_path):
    # `--from outside --to A-vm1` gave "400 HTTPBadRequest: Invalid input for floating_ip_address" (new-user finding)
    with pytest.raises(trace_cli.TraceError, match=r"^--from outside needs --to a floating IP address, not 'A-vm1'$"):
        trace_cli.run_cli_trace(NoPorts(), Settings(state_dir=tmp_path), "outside", "A-vm1", "icmp", None)


class FloatingIps(NoPorts):
    """A caller who sees floating IP 10.50.50.12 -> port "inner" (192.168.1.3) and its own port on
    the external network (no logical port: OVN has a NAT rule for it), and 10.50.50.20 unassociated."""

    PORTS = {"inner": {"id": "inner", "network_id": "n2", "fixed_ips": [{"ip_address": "192.168.1.3"}]},
             "fip-port": {"id": "fip-port", "network_id": "pub", "device_owner": "network:floatingip",
                          "fixed_ips": [{"ip_address": "10.50.50.12"}]},
             "fip-port-2": {"id": "fip-port-2", "network_id": "pub", "device_owner": "network:floatingip",
                            "fixed_ips": [{"ip_address": "10.50.50.20"}]}}

    def request(self, method, path):
        port = self.PORTS.get(path.rpartition("/")[2])
        if port is None:
            raise ApiError(404, "PortNotFound", path)
        return {"port": port}

    def list(self, collection, **filters):
        assert collection == "floatingips"
        fips = [{"floating_ip_address": "10.50.50.12", "port_id": "inner", "fixed_ip_address": "192.168.1.3"},
                {"floating_ip_address": "10.50.50.20", "port_id": None, "fixed_ip_address": None}]
        return [f for f in fips if f["floating_ip_address"] == filters["floating_ip_address"]]

    def list_ports(self, **filters):
        wanted = filters["fixed_ips"].removeprefix("ip_address=")
        return [p for p in self.PORTS.values() if p["fixed_ips"][0]["ip_address"] == wanted]


def test_a_floating_ip_destination_is_the_port_it_leads_to():
    # --to another router's floating IP traced the reply from the floating IP's own port, which is
    # no logical port: "ovn-trace failed: ... unknown logical port" (new-user finding)
    got = find_destination(FloatingIps(), "10.50.50.12", SOURCE)
    assert (got.address, got.port["id"], got.local) == ("10.50.50.12", "inner", "192.168.1.3")
    unassociated = find_destination(FloatingIps(), "10.50.50.20", SOURCE)  # leads nowhere, like an outside address
    assert (unassociated.address, unassociated.port, unassociated.local) == ("10.50.50.20", None, None)
