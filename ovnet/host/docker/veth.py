"""The veth of a Docker endpoint: like any workload veth, except that dockerd, not ovnet, moves the
workload end into the sandbox (libnetwork.md A.5 Join: it moves ``SrcName`` from its own network
namespace and renames it ``eth<N>``). So that end stays, under its temporary name, in the
namespace of ovs-vswitchd -- which must therefore be dockerd's namespace too -- with the port's
MAC and the network MTU already set: dockerd never sets the MTU (pitfall 6).
"""

from __future__ import annotations

from ovnet.host import addressing
from ovnet.host.attachment import Attachment
from ovnet.host.vif import VethVif


class DockerVeth(VethVif):
    """VethVif whose peer is left for dockerd; same contract, same OVS marks (kind "veth"); the
    attachment's target is "" (dockerd knows the sandbox, ovnet does not)."""

    def check(self, target: str, owner: str | None) -> None:
        pass  # no target to check: dockerd moves the peer

    def _peer(self, attachment: Attachment) -> dict:
        return {"ifname": peer_name(attachment.port_id)}

    def _configure_workload(self, attachment: Attachment) -> None:
        if self.host.datapath == "netdev":
            addressing.tx_checksum_off(self.host.netns, peer_name(attachment.port_id))


def peer_name(port_id: str) -> str:
    """The temporary name of the Docker veth's peer, until dockerd renames it ``eth<N>``."""
    return "vp" + port_id.replace("-", "")[:13]
