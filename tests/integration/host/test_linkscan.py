"""ovnet.host.linkscan reads what pyroute2 reads for the attributes the reconcile uses."""

from __future__ import annotations

import pytest

from ovnet.host import linkscan, nsutil
from tests.helpers.hostnet import ns_run

pytestmark = [pytest.mark.root]


def test_links_match_pyroute2_for_veths_across_namespaces(make_netns):
    host, workload = make_netns(), make_netns()
    for i in range(3):
        ns_run(host, "ip", "link", "add", f"h{i}", "type", "veth", "peer", "name", f"w{i}", "netns", workload)
        ns_run(host, "ip", "link", "set", f"h{i}", "alias", f"ovnet:port-{i}:veth", "mtu", "1400", "up")
    ns_run(host, "ip", "link", "add", "same0", "type", "veth", "peer", "name", "same1")  # both ends here

    mine = {link.index: link for link in linkscan.links(host)}
    with nsutil.iproute(host) as ipr:
        theirs = ipr.get_links()

    assert set(mine) == {link["index"] for link in theirs}
    for link in theirs:
        got = mine[link["index"]]
        assert got.name == link.get_attr("IFLA_IFNAME")
        assert (got.flags, got.mtu) == (link["flags"], link.get_attr("IFLA_MTU"))
        assert got.alias == (link.get_attr("IFLA_IFALIAS") or "")
        assert (got.peer, got.peer_nsid) == (link.get_attr("IFLA_LINK"), link.get_attr("IFLA_LINK_NETNSID"))
    moved = sorted(link.alias for link in mine.values() if link.peer_nsid is not None)
    assert moved == [f"ovnet:port-{i}:veth" for i in range(3)]


def test_a_namespace_that_is_gone_raises_oserror():
    with pytest.raises(OSError):
        linkscan.links("ovnet-no-such-namespace")
