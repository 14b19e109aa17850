"""The veth of a Docker endpoint: like any workload veth, except that dockerd, not ovnet, moves the
workload end into the sandbox (libnetwork.md A.5 Join: it moves ``SrcName`` from its own network
namespace and renames it ``eth<N>``). So that end stays, under its temporary name, in the
namespace of ovs-vswitchd -- which must therefore be dockerd's namespace too -- with the port's
MAC and the network MTU already set: dockerd never sets the MTU (pitfall 6).
"""

from __future__ import annotations

from ovnet.host import addressing
from ovnet.host.attachment import Attachment
from ovnet.host.vif import HostContext, VethVif


class DockerVeth(VethVif):
    """VethVif whose peer is left for dockerd; same contract, same OVS marks (kind "veth"); the
    attachment's target is "" (dockerd knows the sandbox, ovnet does not)."""

    def check(self, target: str, owner: str | None) -> None:
        pass  # no target to check: dockerd moves the peer

    def _into_workload(self, ipr, peer: str, attachment: Attachment) -> None:
        ipr.link("set", index=addressing.link_index(ipr, peer), address=attachment.mac)
        if self.host.datapath == "netdev":
            addressing.tx_checksum_off(self.host.netns, peer)


def peer_name(host: HostContext, host_end: str) -> str:
    """The name of the other end of veth ``host_end`` (both in the bridge's namespace)."""
    with host.iproute() as ipr:
        link = ipr.get_links(addressing.link_index(ipr, host_end))[0]
        return ipr.get_links(link.get_attr("IFLA_LINK"))[0].get_attr("IFLA_IFNAME")
