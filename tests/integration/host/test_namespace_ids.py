"""ovnet.host.converge.NamespaceIds: named namespaces by nsid, each opened once, and found again
when a namespace gains an id or is replaced under the same name."""

from __future__ import annotations

import pytest
from pyroute2 import netns

from ovnet.host import converge, linkscan, nsutil
from tests.helpers.hostnet import ns_run

pytestmark = [pytest.mark.root]


def _veth_into(host: str, workload: str, name: str) -> int:
    """A veth from ``host`` into ``workload``; the nsid ``host`` has for ``workload``."""
    ns_run(host, "ip", "link", "add", name, "type", "veth", "peer", "name", "eth-" + name, "netns", workload)
    return next(link.peer_nsid for link in linkscan.links(host) if link.name == name)


def test_each_namespace_is_opened_once_and_changes_are_found(make_netns, monkeypatch):
    host, first, second = make_netns(), make_netns(), make_netns()  # second: no id yet
    opened: list[str] = []
    real = converge._nsid_of
    monkeypatch.setattr(converge, "_nsid_of", lambda ipr, path: opened.append(path.rsplit("/", 1)[1]) or real(ipr, path))
    ours = lambda: [name for name in opened if name in (host, first, second)]  # others' come and go
    ids = converge.NamespaceIds()
    with nsutil.iproute(host) as ipr:
        nsid_first = _veth_into(host, first, "h0")
        assert ids.resolve(ipr, {nsid_first})[nsid_first] == first
        assert {first, second} <= set(opened)

        opened.clear()
        assert ids.resolve(ipr, {nsid_first})[nsid_first] == first
        assert ours() == []  # nothing new, nothing asked for that is unknown

        nsid_second = _veth_into(host, second, "h1")  # an id appears for a namespace known without one
        found = ids.resolve(ipr, {nsid_first, nsid_second})
        assert (found[nsid_first], found[nsid_second]) == (first, second)
        assert second in ours() and first not in ours()  # those without an id are asked again

        netns.remove(first)  # the same name, another namespace (the inode number may come back)
        netns.create(first)
        opened.clear()
        nsid_again = _veth_into(host, first, "h2")
        found = ids.resolve(ipr, {nsid_again})
        assert found[nsid_again] == first and ours() == [first]
